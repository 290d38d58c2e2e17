/* stderr logger with a global level. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static volatile int current_level = BERTH_LOG_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug",
					  "trace"};

gboolean berth_log_level_parse(const char *name, BerthLogLevel *out)
{
	static const struct {
		const char *name;
		BerthLogLevel level;
	} names[] = {
		{"fatal", BERTH_LOG_ERROR},  {"panic", BERTH_LOG_ERROR},
		{"error", BERTH_LOG_ERROR},  {"warn", BERTH_LOG_WARN},
		{"warning", BERTH_LOG_WARN}, {"info", BERTH_LOG_INFO},
		{"debug", BERTH_LOG_DEBUG},  {"trace", BERTH_LOG_TRACE},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
		if (g_ascii_strcasecmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return TRUE;
		}
	}
	return FALSE;
}

const char *berth_log_level_name(BerthLogLevel level)
{
	if ((int)level < 0 || level > BERTH_LOG_TRACE)
		return "info";
	return level_names[level];
}

void berth_log_set_level(BerthLogLevel level)
{
	current_level = level;
}

BerthLogLevel berth_log_get_level(void)
{
	return current_level;
}

void berth_log(BerthLogLevel level, const char *fmt, ...)
{
	if ((int)level > current_level)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

	char line[4096];
	int n = snprintf(line, sizeof line, "%s.%06ldZ %-5s ", stamp,
			 ts.tv_nsec / 1000, berth_log_level_name(level));
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
	va_end(ap);
	gsize len = n + (m < 0 ? 0 : MIN((gsize)m, sizeof line - n - 2));
	line[len++] = '\n';
	ssize_t unused = write(STDERR_FILENO, line, len);
	(void)unused;
}
