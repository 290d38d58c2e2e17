/* Per-interface counters of a network namespace, for the pod network
 * stats: /proc/net/dev as the namespace itself sees it, read by a short
 * thread that joins the namespace (no exec, no fork). No protobuf here. */
#pragma once

#include <glib.h>

typedef struct {
	char *name;
	guint64 rx_bytes, rx_packets, rx_errors, rx_dropped;
	guint64 tx_bytes, tx_packets, tx_errors, tx_dropped;
} NetdevStats;

void netdev_stats_clear(NetdevStats *s);

/* The interfaces of a /proc/net/dev text, in file order (NetdevStats,
 * cleared with netdev_stats_clear). The two header lines and lines that
 * do not parse are skipped; skip_loopback leaves out "lo". */
GArray *netdev_parse(const char *text, gboolean skip_loopback);

/* The interfaces of the network namespace pinned at netns_path, "lo"
 * left out. A dedicated thread enters the namespace, reads
 * /proc/thread-self/net/dev and ends; the caller's thread never changes
 * namespace. NOT_FOUND when the pin is gone, INTERNAL otherwise. */
GArray *netdev_read_netns(const char *netns_path, GError **error);
