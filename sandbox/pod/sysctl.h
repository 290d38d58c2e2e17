/* Pod sysctls: which names a pod may set (only those the kernel keeps per
 * namespace, so a pod never changes the host), and where each one lives
 * under /proc/sys. No I/O here; sandbox/netns.c writes the values. */
#pragma once

#include <glib.h>

/* The namespace that owns a sysctl. */
typedef enum {
	POD_SYSCTL_NS_NONE =
		0, /* not namespaced: setting it changes the host */
	POD_SYSCTL_NS_NET,
	POD_SYSCTL_NS_IPC,
	POD_SYSCTL_NS_UTS,
} PodSysctlNs;

/* The namespace a sysctl belongs to, from its name in either form
 * ("net.ipv4.ip_forward" or "net/ipv4/ip_forward"). The table:
 *   net.*                                   network namespace
 *   kernel.shm*, kernel.msg*, kernel.sem,
 *   kernel.sem_next_id, fs.mqueue.*         IPC namespace
 *   kernel.domainname                       UTS namespace
 *   everything else (vm.*, kernel.pid_max, kernel.hostname, user.*, ...)
 *                                           NONE
 * kernel.hostname is UTS-namespaced too but is refused: the pod's hostname
 * field owns it. The name is not validated here. */
PodSysctlNs pod_sysctl_namespace(const char *name);

/* The path of a sysctl relative to /proc/sys ("net/ipv4/ip_forward"), or
 * NULL with INVALID_ARGUMENT when the name is malformed. As kubelet does,
 * a name whose first separator is '/' is already a path (dots in it are
 * part of a component, as in "net/ipv4/conf/eth0.100/rp_filter"); in a
 * dotted name, '.' separates and '/' stands for a literal dot. Components
 * are non-empty, never "." or "..", and use only [a-z0-9_.-]. */
char *pod_sysctl_path(const char *name, GError **error);

/* Whether a pod may set name=value: a well-formed name, a value without
 * control characters, and a namespace the pod does not share with the
 * host. The UTS namespace is shared with the host exactly when the network
 * namespace is (hostNetwork), so kernel.domainname follows host_net.
 * INVALID_ARGUMENT naming the sysctl and the reason otherwise. */
gboolean pod_sysctl_check(const char *name, const char *value,
			  gboolean host_net, gboolean host_ipc, GError **error);

/* The same check with the three namespaces given separately. */
gboolean pod_sysctl_check_ns(const char *name, const char *value,
			     gboolean host_net, gboolean host_ipc,
			     gboolean host_uts, GError **error);
