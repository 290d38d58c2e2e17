/* The message of a failed `<runtime> create`, found in what the runtime
 * left behind: its JSON log lines, its stderr, or its exit status. */
#include "conmon/runtime.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static void put_utf8(unsigned cp, char *out, size_t cap, size_t *n)
{
	char b[3];
	size_t len;
	if (cp < 0x80) {
		b[0] = (char)cp;
		len = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		len = 2;
	} else if (cp >= 0xd800 && cp <= 0xdfff) {
		b[0] = '?';
		len = 1;
	} else {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		len = 3;
	}
	if (*n + len < cap) {
		memcpy(out + *n, b, len);
		*n += len;
	}
}

static char unescape_simple(char e)
{
	switch (e) {
	case 'n':
		return '\n';
	case 't':
		return '\t';
	case 'r':
		return '\r';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	default:
		return e; /* '"', '\\', '/' */
	}
}

/* Decode the JSON string starting after its opening quote at p (bounded
 * by end) into out; false if it is not terminated. */
static bool json_unescape(const char *p, const char *end, char *out, size_t cap)
{
	size_t n = 0;
	while (p < end && *p != '"') {
		if (*p != '\\') {
			if (n + 1 < cap)
				out[n++] = *p;
			p++;
			continue;
		}
		if (++p >= end)
			return false;
		unsigned cp = 0;
		if (*p == 'u' && end - p >= 5 &&
		    sscanf(p + 1, "%4x", &cp) == 1) {
			put_utf8(cp, out, cap, &n);
			p += 5;
			continue;
		}
		if (n + 1 < cap)
			out[n++] = unescape_simple(*p);
		p++;
	}
	out[n] = '\0';
	return p < end;
}

/* The string value of "key" in the one-line JSON object [line, end). */
static bool json_field(const char *line, const char *end, const char *key,
		       char *out, size_t cap)
{
	char pat[32];
	snprintf(pat, sizeof pat, "\"%s\"", key);
	size_t plen = strlen(pat);
	for (const char *p = line; p + plen <= end; p++) {
		if (memcmp(p, pat, plen) != 0)
			continue;
		const char *v = p + plen;
		while (v < end && (*v == ' ' || *v == ':'))
			v++;
		if (v < end && *v == '"')
			return json_unescape(v + 1, end, out, cap);
	}
	return false;
}

static bool error_line(const char *line, const char *end, char *out, size_t cap)
{
	char level[16];
	if (!json_field(line, end, "level", level, sizeof level))
		return false;
	if (strcmp(level, "error") != 0 && strcmp(level, "fatal") != 0)
		return false;
	return json_field(line, end, "msg", out, cap);
}

/* Walk the lines of text from the last to the first. */
static bool last_line(const char *text, bool errors_only, char *out, size_t cap)
{
	const char *end = text + strlen(text);
	while (end > text) {
		while (end > text && (end[-1] == '\n' || end[-1] == ' ' ||
				      end[-1] == '\r' || end[-1] == '\t'))
			end--;
		const char *start = end;
		while (start > text && start[-1] != '\n')
			start--;
		if (start == end)
			break;
		if (errors_only && error_line(start, end, out, cap))
			return true;
		if (!errors_only) {
			snprintf(out, cap, "%.*s", (int)(end - start), start);
			return true;
		}
		end = start;
	}
	return false;
}

void conmon_runtime_error_message(const char *log_text, const char *stderr_text,
				  int wait_status, char *out, size_t cap)
{
	if (last_line(log_text, true, out, cap) ||
	    last_line(stderr_text, false, out, cap) ||
	    last_line(log_text, false, out, cap))
		return;
	if (WIFSIGNALED(wait_status))
		snprintf(out, cap, "runtime killed by signal %d",
			 WTERMSIG(wait_status));
	else
		snprintf(out, cap, "runtime exited with status %d",
			 WEXITSTATUS(wait_status));
}
