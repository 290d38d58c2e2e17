/* The CRI log file: turning a container's output into kubelet's records,
 * batched into few writev calls, and reopening the file after rotation. */
#include "conmon/log.h"
#include "conmon/protocol.h"
#include "conmon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* A record takes at most four iovecs: header, buffered part, new part,
 * newline. */
#define BATCH_IOVS 256
#define HEADER_MAX 64

typedef struct {
	int fd;
	struct iovec iov[BATCH_IOVS];
	int n;
	char hdr_full[HEADER_MAX], hdr_part[HEADER_MAX];
	size_t hdr_len;
	int err;
} LogBatch;

static const char *const stream_names[] = {"stdout", "stderr"};

size_t conmon_log_timestamp(int64_t ns, char *out, size_t cap)
{
	time_t secs = (time_t)(ns / 1000000000);
	long frac = (long)(ns % 1000000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return n < 0 ? 0 : (size_t)n;
}

int conmon_log_open(ConmonLog *l, const char *path, size_t max_line, bool tty)
{
	memset(l, 0, sizeof *l);
	l->fd = -1;
	l->max_line = max_line ? max_line : CONMON_DEFAULT_LOG_MAX_LINE;
	l->tty = tty;
	l->path = strdup(path);
	if (l->path == NULL)
		return -ENOMEM;
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (l->fd < 0) {
		int r = -errno;
		conmon_log_close(l);
		return r;
	}
	return 0;
}

void conmon_log_close(ConmonLog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	free(l->path);
	l->path = NULL;
	for (int i = 0; i < 2; i++) {
		free(l->partial[i].buf);
		l->partial[i].buf = NULL;
		l->partial[i].len = 0;
	}
}

int conmon_log_reopen(ConmonLog *l)
{
	int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	return 0;
}

size_t conmon_log_pending(const ConmonLog *l, int stream)
{
	return l->partial[stream].len;
}

static void batch_init(LogBatch *b, const ConmonLog *l, int stream,
		       int64_t now_ns)
{
	char ts[40];
	conmon_log_timestamp(now_ns, ts, sizeof ts);
	b->fd = l->fd;
	b->n = 0;
	b->err = 0;
	int n = snprintf(b->hdr_full, HEADER_MAX, "%s %s F ", ts,
			 stream_names[stream]);
	snprintf(b->hdr_part, HEADER_MAX, "%s %s P ", ts, stream_names[stream]);
	b->hdr_len = n > 0 ? (size_t)n : 0;
}

static const char record_end[] = "\n";

/* Write every iovec; 0, or -errno with *torn the bytes written after the
 * end of the last record that went out entirely. */
static int writev_all(int fd, struct iovec *iov, int n, size_t *torn)
{
	*torn = 0;
	while (n > 0) {
		ssize_t w = writev(fd, iov, n < IOV_MAX ? n : IOV_MAX);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= iov->iov_len;
			*torn = iov->iov_base == record_end
					? 0
					: *torn + iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= w;
			*torn += w;
		}
	}
	return 0;
}

/* A write that failed part-way (a full disk) left the front of a record
 * at the end of the file: cut it off, so that every line stays a whole
 * record and the next one starts a line of its own. */
static void cut_torn_record(int fd, size_t torn)
{
	struct stat st;
	if (torn > 0 && fstat(fd, &st) == 0 && (size_t)st.st_size >= torn)
		(void)!ftruncate(fd, st.st_size - (off_t)torn);
}

static void batch_flush(LogBatch *b)
{
	if (b->n == 0)
		return;
	size_t torn = 0;
	int r = writev_all(b->fd, b->iov, b->n, &torn);
	if (r < 0)
		cut_torn_record(b->fd, torn);
	if (r < 0 && b->err == 0)
		b->err = r;
	b->n = 0;
}

static void batch_add(LogBatch *b, const void *p, size_t len)
{
	if (len == 0)
		return;
	b->iov[b->n].iov_base = (void *)p;
	b->iov[b->n].iov_len = len;
	b->n++;
}

/* One record whose content is a (buffered bytes) then c (new bytes). */
static void batch_record(LogBatch *b, bool full, const char *a, size_t alen,
			 const char *c, size_t clen)
{
	if (b->n + 4 > BATCH_IOVS)
		batch_flush(b);
	batch_add(b, full ? b->hdr_full : b->hdr_part, b->hdr_len);
	batch_add(b, a, alen);
	batch_add(b, c, clen);
	batch_add(b, record_end, 1);
}

/* On a tty a line ends in CRLF: the CR is not part of the content. It is
 * the last byte of the new part, or of the buffered part when the new part
 * is empty. */
static void strip_tty_cr(const char *buffered, size_t *have, const char *seg,
			 size_t *n)
{
	if (*n > 0 && seg[*n - 1] == '\r')
		(*n)--;
	else if (*n == 0 && *have > 0 && buffered[*have - 1] == '\r')
		(*have)--;
}

/* Keep the unfinished line: the buffered bytes still unwritten (at hp,
 * moved to the front) and the new tail. Without a buffer (no memory) the
 * tail goes out at once as a P record. */
static void keep_partial(ConmonLog *l, LogBatch *b, ConmonLogPartial *p,
			 const char *hp, size_t have, const char *tail,
			 size_t n)
{
	if (n > 0 && p->buf == NULL)
		p->buf = malloc(l->max_line + 1);
	if (n > 0 && p->buf == NULL) {
		batch_record(b, false, NULL, 0, tail, n);
		batch_flush(b);
		p->len = 0;
		return;
	}
	if (have > 0 && hp != p->buf)
		memmove(p->buf, hp, have);
	if (n > 0)
		memcpy(p->buf + have, tail, n);
	p->len = have + n;
}

/* On a tty a CR at the very end of the bytes read so far may be the
 * first half of a CRLF: it is kept out of the size limit, so a line of
 * exactly max_line bytes still ends in one F record. */
static size_t tty_cr_reserve(const ConmonLog *l, const char *nl,
			     const char *seg, size_t n)
{
	return l->tty && nl == NULL && n > 0 && seg[n - 1] == '\r' ? 1 : 0;
}

int conmon_log_feed(ConmonLog *l, int stream, const char *data, size_t len,
		    int64_t now_ns)
{
	ConmonLogPartial *p = &l->partial[stream];
	LogBatch b;
	batch_init(&b, l, stream, now_ns);
	/* The current line's bytes not yet written: have bytes at hp (in
	 * p->buf, reused only after the final flush), then seg. */
	const char *hp = p->buf;
	size_t have = p->len;
	const char *tail = NULL;
	size_t tail_len = 0;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		const char *seg = data;
		size_t n = nl != NULL ? (size_t)(nl - data) : len;
		size_t reserve = tty_cr_reserve(l, nl, seg, n);
		if (nl != NULL && l->tty)
			strip_tty_cr(hp, &have, seg, &n);
		while (have + n - reserve > l->max_line) {
			size_t take =
				have >= l->max_line ? 0 : l->max_line - have;
			size_t from_buf =
				have < l->max_line ? have : l->max_line;
			batch_record(&b, false, hp, from_buf, seg, take);
			hp += from_buf;
			have -= from_buf;
			seg += take;
			n -= take;
		}
		if (nl == NULL) {
			tail = seg;
			tail_len = n;
			break;
		}
		batch_record(&b, true, hp, have, seg, n);
		have = 0;
		len -= (size_t)(nl - data) + 1;
		data = nl + 1;
	}
	batch_flush(&b);
	keep_partial(l, &b, p, hp, have, tail, tail_len);
	return b.err;
}

int conmon_log_flush(ConmonLog *l, int stream, int64_t now_ns)
{
	ConmonLogPartial *p = &l->partial[stream];
	if (p->len == 0)
		return 0;
	LogBatch b;
	batch_init(&b, l, stream, now_ns);
	/* At most max_line + 1 bytes (a tty's reserved CR): two records. */
	size_t first = p->len < l->max_line ? p->len : l->max_line;
	batch_record(&b, false, p->buf, first, NULL, 0);
	if (p->len > first)
		batch_record(&b, false, p->buf + first, p->len - first, NULL,
			     0);
	batch_flush(&b);
	p->len = 0;
	return b.err;
}
