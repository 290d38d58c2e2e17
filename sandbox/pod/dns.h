/* A pod's name-resolution files: resolv.conf, hosts and hostname, written
 * atomically into the pod's directory and later bind-mounted into its
 * containers. Not fsync'd: they serve the pod only in this boot (after a
 * reboot it is NOTREADY and takes no new containers). Every entry is
 * checked so that none can add a line. */
#pragma once

#include <glib.h>

/* The host file copied when a pod brings no DNS config of its own. */
#define POD_DNS_HOST_RESOLV_CONF "/etc/resolv.conf"

/* Write a resolv.conf for a pod: "nameserver" lines, then one "search" and
 * one "options" line, each left out when its list is empty. When all three
 * lists are NULL or empty, the host's /etc/resolv.conf is copied instead.
 * Servers must be IPv4 or IPv6 addresses (an IPv6 one may carry a %zone);
 * search domains and options must be single printable words. Anything else
 * is INVALID_ARGUMENT. More than 3 servers (glibc reads only 3) or more
 * than 32 search domains are logged, not refused. */
gboolean pod_dns_write_resolv_conf(const char *path, const char *const *servers,
				   const char *const *searches,
				   const char *const *options, GError **error);

/* Copy host_path to path atomically; an absent host file gives an empty
 * resolv.conf (and a warning), as the resolver then uses its defaults. */
gboolean pod_dns_copy_resolv_conf(const char *host_path, const char *path,
				  GError **error);

/* Write a hosts file: localhost for 127.0.0.1 and ::1, then one line per
 * pod IP naming hostname. ips may be NULL; hostname may be NULL only when
 * there are no ips. */
gboolean pod_dns_write_hosts(const char *path, const char *hostname,
			     const char *const *ips, GError **error);

/* Write "<hostname>\n". */
gboolean pod_dns_write_hostname(const char *path, const char *hostname,
				GError **error);

/* A hostname the kernel takes for a UTS namespace and that is safe in the
 * files above: 1 to 64 printable ASCII characters, no whitespace. */
gboolean pod_hostname_check(const char *hostname, GError **error);

/* Whether s is an IPv4 or IPv6 address (IPv6 optionally with %zone). */
gboolean pod_dns_is_ip(const char *s);
