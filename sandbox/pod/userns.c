/* User namespaces of pods: range checks, the holder process that makes
 * the namespaces, idmapped mounts. See userns.h. */
#include "sandbox/pod/userns.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define ID_MAX G_MAXUINT32

gboolean userns_range_check(const UsernsRange *r, const char *field,
			    GError **error)
{
	if (r->length == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the mapping's length is 0", field);
	if ((guint64)r->container_id + r->length - 1 > ID_MAX ||
	    (guint64)r->host_id + r->length - 1 > ID_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the mapping %u:%u:%u runs past the "
				   "largest id",
				   field, r->container_id, r->host_id,
				   r->length);
	/* (2^32)-1 is the kernel's "no id": it can be in no mapping. */
	if ((guint64)r->container_id + r->length - 1 == ID_MAX ||
	    (guint64)r->host_id + r->length - 1 == ID_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the mapping %u:%u:%u includes id "
				   "4294967295, which no namespace may map",
				   field, r->container_id, r->host_id,
				   r->length);
	if (r->container_id != 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the mapping %u:%u:%u leaves the pod's "
				   "id 0 (its root) unmapped",
				   field, r->container_id, r->host_id,
				   r->length);
	if (r->host_id == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the mapping %u:%u:%u maps the host's "
				   "id 0 into the pod",
				   field, r->container_id, r->host_id,
				   r->length);
	return TRUE;
}

gint64 userns_range_host(const UsernsRange *r, guint32 id)
{
	if (id < r->container_id || id - r->container_id >= r->length)
		return -1;
	return (gint64)r->host_id + (id - r->container_id);
}

char *userns_range_line(const UsernsRange *r)
{
	return g_strdup_printf("%u %u %u\n", r->container_id, r->host_id,
			       r->length);
}

gboolean userns_map_equal(const UsernsMap *a, const UsernsMap *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

/* --- the holder ----------------------------------------------------------- */

static gboolean write_map(pid_t pid, const char *which, const UsernsRange *r,
			  GError **error)
{
	char path[64];
	g_snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, which);
	g_autofree char *line = userns_range_line(r);
	autofd fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_throw_errno(error, errno, "open %s", path);
	gsize len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len)
		return berth_throw_errno(error, errno, "write %s \"%.*s\"",
					 path, (int)len - 1, line);
	return TRUE;
}

#define HOLDER_STACK (64 * 1024)

typedef struct {
	int release_rd, release_wr;
} HolderArgs;

/* The holder runs on a stack of its own in berthd's memory (CLONE_VM: no
 * copy of the address space, no copy-on-write faults for the daemon
 * afterwards). It shares the calling thread's TLS, so it calls only
 * system calls that cannot fail here (no signal reaches it: berthd's
 * threads block them all), and errno is never written. */
static int holder_main(void *data)
{
	const HolderArgs *a = data;
	char c;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(a->release_wr);
	while (read(a->release_rd, &c, 1) < 0 && errno == EINTR)
		;
	/* Returning lets clone(2)'s own code end the process: no call of a
	 * noreturn function on this stack, which ASan would warn about. */
	return 0;
}

gboolean userns_holder_start(const UsernsMap *m, int ns_flags,
			     UsernsHolder *out, GError **error)
{
	out->pid = -1;
	out->release_fd = -1;
	out->stack = NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_throw_errno(error, errno, "pipe");
	/* The arguments live at the far end of the holder's stack, which
	 * outlives it (this frame may not). */
	out->stack = g_malloc(HOLDER_STACK);
	HolderArgs *args = out->stack;
	*args = (HolderArgs){.release_rd = p[0], .release_wr = p[1]};
	pid_t pid = clone(holder_main, (char *)out->stack + HOLDER_STACK,
			  CLONE_VM | CLONE_NEWUSER | ns_flags | SIGCHLD, args);
	int errsv = errno;
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		g_clear_pointer(&out->stack, g_free);
		if (errsv == ENOSPC || errsv == EUSERS)
			return berth_throw(error, RESOURCE_EXHAUSTED,
					   "new user namespace: the limit in "
					   "/proc/sys/user/max_user_namespaces "
					   "is reached");
		return berth_throw_errno(error, errsv,
					 "clone a new user namespace");
	}
	out->pid = pid;
	out->release_fd = p[1];
	if (!write_map(out->pid, "uid_map", &m->uid, error) ||
	    !write_map(out->pid, "gid_map", &m->gid, error)) {
		userns_holder_stop(out);
		return FALSE;
	}
	return TRUE;
}

void userns_holder_stop(UsernsHolder *h)
{
	if (h->release_fd >= 0)
		close(h->release_fd);
	h->release_fd = -1;
	if (h->pid <= 0) {
		g_clear_pointer(&h->stack, g_free);
		return;
	}
	kill(h->pid, SIGKILL);
	while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
		;
	h->pid = -1;
	g_clear_pointer(&h->stack, g_free); /* only once it is gone */
}

/* --- idmapped mounts ---------------------------------------------------- */

int userns_open(const char *path, GError **error)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		berth_throw_errno(error, errno, "open user namespace %s", path);
		return -1;
	}
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWUSER) {
		close(fd);
		berth_throw(error, FAILED_PRECONDITION,
			    "%s is not a user namespace", path);
		return -1;
	}
	return fd;
}

/* --- OCI spec ------------------------------------------------------------ */

static json_t *oci_mappings(const UsernsRange *r)
{
	return json_pack("[{s:I, s:I, s:I}]", "containerID",
			 (json_int_t)r->container_id, "hostID",
			 (json_int_t)r->host_id, "size", (json_int_t)r->length);
}

void userns_spec_apply(json_t *linux_, const char *pin, const UsernsMap *m)
{
	json_t *ns = json_object_get(linux_, "namespaces");
	if (!json_is_array(ns)) {
		ns = json_array();
		json_object_set_new(linux_, "namespaces", ns);
	}
	json_array_append_new(
		ns, json_pack("{s:s, s:s}", "type", "user", "path", pin));
	json_object_set_new(linux_, "uidMappings", oci_mappings(&m->uid));
	json_object_set_new(linux_, "gidMappings", oci_mappings(&m->gid));
}
