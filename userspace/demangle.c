// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"

/* The C++ runtime's demangler (libstdc++, which the daemon links). */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Length of the operator's symbol when p is at "operator" as a word, else 0. */
static size_t operator_len(const char *name, const char *p)
{
	static const char word[] = "operator";
	size_t n = sizeof(word) - 1;
	const char *q;

	if (strncmp(p, word, n) || (p > name && ident_char(p[-1])) || ident_char(p[n]))
		return 0;
	q = p + n;
	if (!strncmp(q, "()", 2))
		return q + 2 - p;
	/* operator new, operator delete[], operator bool: the word is part of the name */
	if (*q == ' ' && ident_char(q[1])) {
		for (q++; ident_char(*q); q++)
			;
		return q - p;
	}
	/* operator<<, operator->*, operator[]: punctuation up to the next name or bracket */
	while (*q && strchr("<>=!+-*/%&|^~,[]", *q))
		q++;
	return q - p;
}

void lw_demangle_simplify(char *name)
{
	static const char anon[] = "(anonymous namespace)";
	char *start = name;	/* past the return type of a template function */
	int depth = 0;

	for (char *p = name; *p; p++) {
		size_t op = operator_len(name, p);

		if (op) {
			p += op - 1;
			continue;
		}
		if (!strncmp(p, anon, sizeof(anon) - 1)) {
			p += sizeof(anon) - 2;
			continue;
		}
		switch (*p) {
		case '<':
		case '{':
		case '[':
			depth++;
			break;
		case '>':
		case '}':
		case ']':
			depth -= depth > 0;
			break;
		case '(':
			if (!depth && p > name) {
				*p = '\0';
				goto out;
			}
			depth++;
			break;
		case ')':
			depth -= depth > 0;
			break;
		case ' ':
			/* "void ns::f<int>": a space outside brackets ends the return type */
			if (!depth)
				start = p + 1;
			break;
		default:
			break;
		}
	}
out:
	if (start != name)
		memmove(name, start, strlen(start) + 1);
}

char *lw_demangle(const char *sym)
{
	int status = -1;
	char *out;

	if (strncmp(sym, "_Z", 2))
		return NULL;
	out = __cxa_demangle(sym, NULL, NULL, &status);
	if (status || !out) {
		free(out);
		return NULL;
	}
	lw_demangle_simplify(out);
	return out;
}
