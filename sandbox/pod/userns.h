/* User namespaces of pods (KEP-127, hostUsers: false). kubelet sends one
 * uid and one gid range per pod; berth makes the pod's user namespace with
 * them, creates the pod's network, IPC and UTS namespaces inside it (so
 * they belong to it), pins it like the others, and shows files to the
 * containers through idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP)
 * instead of chowning anything shared. */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <sys/types.h>

/* Where a pod's (and a container's) userns_options are in their requests,
 * for error messages. */
#define USERNS_FIELD                                                           \
	"config.linux.security_context.namespace_options.userns_options"

/* container_id..container_id+length-1 inside is host_id.. outside. */
typedef struct {
	guint32 container_id;
	guint32 host_id;
	guint32 length;
} UsernsRange;

typedef struct {
	UsernsRange uid;
	UsernsRange gid;
} UsernsMap;

/* A range kubelet could have sent: not empty, no wrap past 2^32-1 on
 * either side, starting at the pod's id 0 (its root must be mapped), and
 * never the host's root (uid or gid 0 outside). field
 * names the request field in the message ("...userns_options.uids"). */
gboolean userns_range_check(const UsernsRange *r, const char *field,
			    GError **error);

/* The host id of id inside, or -1 when the range does not map it. */
gint64 userns_range_host(const UsernsRange *r, guint32 id);

/* "container_id host_id length\n", what /proc/PID/uid_map takes. */
char *userns_range_line(const UsernsRange *r);

/* Whether two maps are the same (a container's must be its pod's). */
gboolean userns_map_equal(const UsernsMap *a, const UsernsMap *b);

/* A process in a new user namespace with m's mappings and, inside it, new
 * namespaces for ns_flags (CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS):
 * they belong to the new user namespace. It only waits; its namespaces
 * are reached through /proc/<pid>/ns/ until userns_holder_stop ends it.
 * A multithreaded process cannot unshare a user namespace, hence the
 * process (made with clone(2) sharing berthd's memory, no exec; it does
 * nothing but read(2)). */
typedef struct {
	pid_t pid;
	int release_fd; /* closing it lets the holder exit */
	void *stack;	/* the holder's, freed once it is reaped */
} UsernsHolder;

gboolean userns_holder_start(const UsernsMap *m, int ns_flags,
			     UsernsHolder *out, GError **error);
void userns_holder_stop(UsernsHolder *h);

/* Open a user namespace file (a pin) for userns_idmap_mount. -1 with the
 * error set when it is not one. */
int userns_open(const char *path, GError **error);

/* Put the pod's user namespace into an OCI spec's "linux" object: the
 * namespace by its pin, and the mappings (runc wants them even when it
 * joins a namespace by path). */
void userns_spec_apply(json_t *linux_, const char *pin, const UsernsMap *m);
