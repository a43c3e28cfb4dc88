/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A growable byte buffer for building replies. An allocation failure is sticky: later appends
 * do nothing and the caller checks once, at the end, instead of after every line.
 */
#ifndef LW_STRBUF_H
#define LW_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct lw_buf {
	char *data;	/* NUL-terminated while !failed and data != NULL */
	size_t len;
	size_t cap;
	bool failed;	/* an append ran out of memory */
};

void lw_buf__append(struct lw_buf *b, const void *p, size_t n);
void lw_buf__puts(struct lw_buf *b, const char *s);
void lw_buf__printf(struct lw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents (malloc'd, the caller frees them) and their length; the buffer is left empty.
 * NULL with errno ENOMEM if an append failed. */
char *lw_buf__steal(struct lw_buf *b, size_t *len);
void lw_buf__free(struct lw_buf *b);

#endif /* LW_STRBUF_H */
