/* Small helpers of berth-conmon: diagnostics, full writes, JSON strings,
 * atomic files, clocks. Plain libc only. */
#include "conmon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *diag_id = "-";

void conmon_diag_set_id(const char *id)
{
	diag_id = id;
}

void conmon_diag(const char *fmt, ...)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "berth-conmon %s: ", diag_id);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof line)
		n += vsnprintf(line + n, sizeof line - n, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line - 1)
		n = sizeof line - 2;
	line[n++] = '\n';
	(void)conmon_write_all(STDERR_FILENO, line, n);
}

int conmon_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t utf8_seq_len(const unsigned char *s)
{
	size_t len;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		len = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		len = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	return len;
}

/* The escaped form of one character (or UTF-8 sequence) at s. */
static size_t json_escape_one(const unsigned char *s, char *esc,
			      size_t *consumed)
{
	*consumed = 1;
	switch (*s) {
	case '"':
		return (size_t)snprintf(esc, 8, "\\\"");
	case '\\':
		return (size_t)snprintf(esc, 8, "\\\\");
	case '\n':
		return (size_t)snprintf(esc, 8, "\\n");
	case '\t':
		return (size_t)snprintf(esc, 8, "\\t");
	case '\r':
		return (size_t)snprintf(esc, 8, "\\r");
	default:
		break;
	}
	if (*s < 0x20)
		return (size_t)snprintf(esc, 8, "\\u%04x", *s);
	size_t n = utf8_seq_len(s);
	if (n == 0) {
		esc[0] = '?';
		return 1;
	}
	memcpy(esc, s, n);
	*consumed = n;
	return n;
}

void conmon_json_string(char *out, size_t cap, size_t *pos, const char *s)
{
	/* Room for the opening quote, the closing quote and the NUL. */
	if (cap < 3 || *pos > cap - 3)
		return;
	out[(*pos)++] = '"';
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		char esc[8];
		size_t used;
		size_t n = json_escape_one(p, esc, &used);
		if (*pos + n + 2 > cap)
			break;
		memcpy(out + *pos, esc, n);
		*pos += n;
		p += used;
	}
	out[(*pos)++] = '"';
	out[*pos] = '\0';
}

static int fsync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	size_t n = slash == NULL ? 1 : (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= sizeof dir)
		return -ENAMETOOLONG;
	memcpy(dir, slash == NULL ? "." : path, n);
	dir[n] = '\0';
	conmon_autoclose fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

/* The tmp name starts with a dot so a watcher of the dir that skips
 * hidden names never sees a half-written file. */
static int tmp_name_for(const char *path, char *tmp, size_t cap)
{
	const char *slash = strrchr(path, '/');
	int dirlen = slash == NULL ? 0 : (int)(slash - path + 1);
	const char *base = slash == NULL ? path : slash + 1;
	int n = snprintf(tmp, cap, "%.*s.%s.tmp-%d", dirlen, path, base,
			 (int)getpid());
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int write_file_replace(const char *path, const char *data, size_t len,
			      mode_t mode, int durable)
{
	char tmp[4096];
	int r = tmp_name_for(path, tmp, sizeof tmp);
	if (r < 0)
		return r;
	conmon_autoclose fd =
		open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = conmon_write_all(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return durable ? fsync_parent(path) : 0;
}

int conmon_write_file_atomic(const char *path, const char *data, size_t len,
			     mode_t mode)
{
	return write_file_replace(path, data, len, mode, 1);
}

int conmon_replace_file(const char *path, const char *data, size_t len,
			mode_t mode)
{
	return write_file_replace(path, data, len, mode, 0);
}

ssize_t conmon_read_small_file(const char *path, char *buf, size_t cap)
{
	conmon_autoclose fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t got = 0;
	while (got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	return (ssize_t)got;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t conmon_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

int64_t conmon_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}
