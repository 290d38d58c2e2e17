/* berth-conmon's own small helpers (no GLib here): cleanup attributes for
 * fds and heap memory, diagnostics on stderr, full writes, JSON string
 * escaping and atomic file writes. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

static inline void conmon_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
static inline void conmon_freep(void *p)
{
	free(*(void **)p);
}
/* An fd closed when it leaves scope; initialise it to -1. */
#define conmon_autoclose __attribute__((cleanup(conmon_closep))) int
/* A heap pointer freed when it leaves scope; initialise it to NULL. */
#define conmon_autofree __attribute__((cleanup(conmon_freep)))

static inline int conmon_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

/* The container id diagnostics are tagged with. */
void conmon_diag_set_id(const char *id);
/* One line on stderr: "berth-conmon <id>: <message>". */
void conmon_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of buf, retrying on EINTR; 0 or -errno. */
int conmon_write_all(int fd, const void *buf, size_t len);

/* Append s as a JSON string (quotes included) to out[*pos..cap), always
 * NUL-terminating; truncates (keeping valid JSON) when out is too small. */
void conmon_json_string(char *out, size_t cap, size_t *pos, const char *s);

/* Write path atomically: tmp file beside it, fsync, rename, fsync dir.
 * 0 or -errno. */
int conmon_write_file_atomic(const char *path, const char *data, size_t len,
			     mode_t mode);

/* The same without the fsyncs: atomic against a crash of a process, not
 * of the machine. For files in the runroot, which a reboot empties. */
int conmon_replace_file(const char *path, const char *data, size_t len,
			mode_t mode);

/* Read a small file into buf (NUL-terminated); bytes read or -errno. */
ssize_t conmon_read_small_file(const char *path, char *buf, size_t cap);

/* CLOCK_REALTIME and CLOCK_MONOTONIC in nanoseconds. */
int64_t conmon_now_ns(void);
int64_t conmon_mono_ns(void);
