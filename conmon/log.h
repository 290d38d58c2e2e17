/* The CRI log writer: a container's output bytes become kubelet's log
 * records, "<timestamp> <stream> <F|P> <content>\n". Complete lines end
 * with F. A line longer than max_line is cut into P records of max_line
 * bytes; a line with no newline yet stays buffered until its newline, the
 * size limit, or an explicit flush (idle timer, end of stream), which
 * writes it as P. On a tty the CR of a CRLF ending is not content.
 * No I/O besides the log fd, and time is passed in: testable as is. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	CONMON_STREAM_STDOUT = 0,
	CONMON_STREAM_STDERR = 1,
};

typedef struct {
	char *buf; /* max_line bytes, allocated on first use */
	size_t len;
} ConmonLogPartial;

typedef struct {
	int fd;
	char *path;
	size_t max_line;
	bool tty;
	ConmonLogPartial partial[2];
} ConmonLog;

/* Open (create, append) path; 0 or -errno. max_line 0 means the default. */
int conmon_log_open(ConmonLog *l, const char *path, size_t max_line, bool tty);
void conmon_log_close(ConmonLog *l);

/* Add bytes read from a stream at time now_ns; 0 or -errno of the write. */
int conmon_log_feed(ConmonLog *l, int stream, const char *data, size_t len,
		    int64_t now_ns);

/* Write a stream's buffered partial line as a P record; 0 or -errno. */
int conmon_log_flush(ConmonLog *l, int stream, int64_t now_ns);

/* Bytes of a partial line buffered for a stream. */
size_t conmon_log_pending(const ConmonLog *l, int stream);

/* Open the path again (it was renamed away) and write there from now on;
 * on failure the old file stays in use. 0 or -errno. */
int conmon_log_reopen(ConmonLog *l);

/* "2006-01-02T15:04:05.000000000Z": UTC, always nine fraction digits
 * (kubelet's own output layout). out holds at least 31 bytes. */
size_t conmon_log_timestamp(int64_t ns, char *out, size_t cap);
