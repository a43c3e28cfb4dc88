// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static enum lw_log_level max_lvl = LW_LOG_INFO;
static bool journal;

/* systemd sets JOURNAL_STREAM=dev:ino for the stream stderr is connected to. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void lw_log_init(enum lw_log_level level)
{
	max_lvl = level;
	journal = stderr_is_journal();
}

void lw_log_set_level(enum lw_log_level level)
{
	max_lvl = level;
}

bool lw_log_enabled(enum lw_log_level level)
{
	return level <= max_lvl;
}

void lw_vlog(enum lw_log_level level, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		[LW_LOG_ERR] = "error", [LW_LOG_WARN] = "warning",
		[LW_LOG_INFO] = "info", [LW_LOG_DEBUG] = "debug",
	};
	char buf[1024];

	if (level > max_lvl)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (journal)
		fprintf(stderr, "<%d>%s\n", level, buf);
	else
		fprintf(stderr, "leakwatchd: %s: %s\n", names[level] ? names[level] : "log", buf);
}

void lw_log(enum lw_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lw_vlog(level, fmt, ap);
	va_end(ap);
}
