/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Leveled logging with one swappable sink: plain stderr when run by hand, the journal's "<N>"
 * priority prefixes when stderr is connected to the journal (JOURNAL_STREAM matches).
 */
#ifndef LW_LOG_H
#define LW_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum lw_log_level {
	LW_LOG_ERR = 3,
	LW_LOG_WARN = 4,
	LW_LOG_INFO = 6,
	LW_LOG_DEBUG = 7,
};

/* Pick the sink from the environment and set the threshold; safe to call again (SIGHUP). */
void lw_log_init(enum lw_log_level max_level);
void lw_log_set_level(enum lw_log_level max_level);
bool lw_log_enabled(enum lw_log_level level);
void lw_log(enum lw_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lw_vlog(enum lw_log_level level, const char *fmt, va_list ap);

#define lw_err(...) lw_log(LW_LOG_ERR, __VA_ARGS__)
#define lw_warn(...) lw_log(LW_LOG_WARN, __VA_ARGS__)
#define lw_info(...) lw_log(LW_LOG_INFO, __VA_ARGS__)
#define lw_debug(...) lw_log(LW_LOG_DEBUG, __VA_ARGS__)

#endif /* LW_LOG_H */
