// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static bool reserve(struct lw_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1) {
		if (cap > (size_t)-1 / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void lw_buf__append(struct lw_buf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void lw_buf__puts(struct lw_buf *b, const char *s)
{
	lw_buf__append(b, s, strlen(s));
}

void lw_buf__printf(struct lw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	/* Most lines fit in what is left: format once, and again only after growing. */
	if (!reserve(b, 0))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!reserve(b, n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += n;
}

char *lw_buf__steal(struct lw_buf *b, size_t *len)
{
	char *p;

	if (b->failed || !reserve(b, 0)) {
		lw_buf__free(b);
		errno = ENOMEM;
		return NULL;
	}
	p = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return p;
}

void lw_buf__free(struct lw_buf *b)
{
	free(b->data);
	*b = (struct lw_buf){ 0 };
}
