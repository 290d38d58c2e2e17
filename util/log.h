/* Logging for berthd: one line per event on stderr, with a level filter set
 * from the config. Thread-safe (one write(2) per line). */
#pragma once

#include <glib.h>

typedef enum {
	BERTH_LOG_ERROR = 0,
	BERTH_LOG_WARN = 1,
	BERTH_LOG_INFO = 2,
	BERTH_LOG_DEBUG = 3,
	BERTH_LOG_TRACE = 4,
} BerthLogLevel;

/* Parse "error", "warn"/"warning", "info", "debug", "trace" (any case);
 * FALSE if the name is none of them. "fatal" and "panic" (CRI-O's names) mean
 * error. */
gboolean berth_log_level_parse(const char *name, BerthLogLevel *out);
const char *berth_log_level_name(BerthLogLevel level);
void berth_log_set_level(BerthLogLevel level);
BerthLogLevel berth_log_get_level(void);
void berth_log(BerthLogLevel level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#define log_error(...) berth_log(BERTH_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)
#define log_info(...) berth_log(BERTH_LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (berth_log_get_level() >= BERTH_LOG_DEBUG)                  \
			berth_log(BERTH_LOG_DEBUG, __VA_ARGS__);               \
	} while (0)
