/* Interface counters of a pod's network namespace: parse /proc/net/dev,
 * and read it from inside the namespace on a thread made for that. */
#include "network/netdev.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

void netdev_stats_clear(NetdevStats *s)
{
	g_clear_pointer(&s->name, g_free);
}

/* "  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16": receive bytes,
 * packets, errs, drop, fifo, frame, compressed, multicast, then transmit
 * bytes, packets, errs, drop, fifo, colls, carrier, compressed. */
static gboolean parse_line(const char *line, NetdevStats *out)
{
	const char *colon = strchr(line, ':');
	if (colon == NULL)
		return FALSE;
	g_autofree char *name = g_strstrip(g_strndup(line, colon - line));
	guint64 v[16];
	const char *p = colon + 1;
	for (int i = 0; i < 16; i++) {
		char *end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!g_ascii_isdigit(*p))
			return FALSE;
		v[i] = g_ascii_strtoull(p, &end, 10);
		p = end;
	}
	if (name[0] == '\0')
		return FALSE;
	*out = (NetdevStats){
		.name = g_steal_pointer(&name),
		.rx_bytes = v[0],
		.rx_packets = v[1],
		.rx_errors = v[2],
		.rx_dropped = v[3],
		.tx_bytes = v[8],
		.tx_packets = v[9],
		.tx_errors = v[10],
		.tx_dropped = v[11],
	};
	return TRUE;
}

GArray *netdev_parse(const char *text, gboolean skip_loopback)
{
	GArray *out = g_array_new(FALSE, TRUE, sizeof(NetdevStats));
	g_array_set_clear_func(out, (GDestroyNotify)netdev_stats_clear);
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++) {
		NetdevStats s;
		if (!parse_line(*l, &s))
			continue;
		if (skip_loopback && strcmp(s.name, "lo") == 0) {
			netdev_stats_clear(&s);
			continue;
		}
		g_array_append_val(out, s);
	}
	return out;
}

typedef struct {
	int nsfd;
	char *text;
	int err; /* errno of the failed step, 0 when text is set */
} NetnsRead;

/* Runs on its own thread: the namespace it joins dies with it. */
static gpointer read_in_netns(gpointer data)
{
	NetnsRead *r = data;
	if (setns(r->nsfd, CLONE_NEWNET) != 0) {
		r->err = errno;
		return NULL;
	}
	g_autoptr(GError) e = NULL;
	if (!berth_read_file("/proc/thread-self/net/dev", &r->text, NULL, &e))
		r->err = EIO;
	return NULL;
}

/* The text of /proc/net/dev inside the namespace of nsfd, or NULL. */
static char *read_dev_in(int nsfd, const char *netns_path, GError **error)
{
	NetnsRead r = {.nsfd = nsfd};
	GThread *t = g_thread_try_new("netns-stats", read_in_netns, &r, error);
	if (t == NULL)
		return NULL;
	g_thread_join(t); /* also drops the last reference to t */
	if (r.text == NULL)
		berth_set_error(error, BERTH_ERROR_INTERNAL,
				"network namespace %s: read /proc/net/dev: %s",
				netns_path, g_strerror(r.err));
	return r.text; // cppcheck-suppress memleak
}

GArray *netdev_read_netns(const char *netns_path, GError **error)
{
	autofd nsfd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		return berth_throw_errno_null(
			error, errno, "network namespace %s", netns_path);
	g_autofree char *text = read_dev_in(nsfd, netns_path, error);
	if (text == NULL)
		return NULL;
	return netdev_parse(text, TRUE);
}
