/* Pod namespaces without a helper process: a short-lived thread unshares,
 * configures and pins them, then exits; the calling thread checks the
 * request before and undoes the pins after a failure. */
#include "sandbox/pod/netns.h"
#include "sandbox/pod/dns.h"
#include "sandbox/mountinfo.h"
#include "sandbox/pod/sysctl.h"
#include "sandbox/pod/userns.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

/* Pin file names, in the order they are made (the user namespace's is
 * made before the others and released after them). */
static const char *const ns_kinds[] = {"net", "ipc", "uts", "user"};
#define NS_KINDS G_N_ELEMENTS(ns_kinds)

/* Mount points already made private by this process. */
static GMutex root_lock;
static GHashTable *root_done;

typedef struct {
	const PodNsSpec *spec;
	GPtrArray *pins; /* char*: pin files this job created */
	pid_t holder;	 /* > 0: the namespaces are this process's */
	GError *error;
} NsJob;

static gboolean kind_wanted(const PodNsSpec *s, guint k)
{
	const gboolean want[NS_KINDS] = {s->new_net, s->new_ipc, s->new_uts,
					 s->userns != NULL};
	return want[k];
}

static const int kind_flags[] = {CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS,
				 CLONE_NEWUSER};

static int ns_flags(const PodNsSpec *s)
{
	return (s->new_net ? CLONE_NEWNET : 0) |
	       (s->new_ipc ? CLONE_NEWIPC : 0) |
	       (s->new_uts ? CLONE_NEWUTS : 0);
}

/* --- checks, on the calling thread ------------------------------------ */

/* Absolute, no empty, "." or ".." component, no trailing slash. */
static gboolean path_is_clean(const char *p)
{
	if (p == NULL || p[0] != '/' || p[1] == '\0')
		return FALSE;
	g_auto(GStrv) parts = g_strsplit(p + 1, "/", -1);
	for (guint i = 0; parts[i]; i++)
		if (parts[i][0] == '\0' || strcmp(parts[i], ".") == 0 ||
		    strcmp(parts[i], "..") == 0)
			return FALSE;
	return TRUE;
}

static gboolean ns_spec_check(const PodNsSpec *s, GError **error)
{
	if (!path_is_clean(s->pin_dir))
		return berth_throw(error, INVALID_ARGUMENT,
				   "namespace pin dir \"%s\" is not a clean "
				   "absolute path",
				   s->pin_dir ? s->pin_dir : "");
	if (s->new_uts && !pod_hostname_check(s->hostname, error))
		return FALSE;
	if (s->userns != NULL && (!s->new_net || !s->new_ipc || !s->new_uts))
		return berth_throw(
			error, INVALID_ARGUMENT,
			"a pod with its own user namespace needs its "
			"own network, IPC and UTS namespaces");
	for (guint i = 0; s->sysctls && s->sysctls[i]; i++) {
		const char *eq = strchr(s->sysctls[i], '=');
		if (eq == NULL)
			return berth_throw(error, INVALID_ARGUMENT,
					   "sysctl \"%s\" is not name=value",
					   s->sysctls[i]);
		g_autofree char *name =
			g_strndup(s->sysctls[i], eq - s->sysctls[i]);
		if (!pod_sysctl_check_ns(name, eq + 1, !s->new_net, !s->new_ipc,
					 !s->new_uts, error))
			return FALSE;
	}
	return TRUE;
}

/* --- the namespace thread --------------------------------------------- */

static gboolean ns_lo_up(GError **error)
{
	autofd fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_throw_errno(error, errno, "socket for lo");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	g_strlcpy(ifr.ifr_name, "lo", sizeof ifr.ifr_name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return berth_throw_errno(error, errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return berth_throw_errno(error, errno, "bring lo up");
	return TRUE;
}

static gboolean sysctl_throw(GError **error, int errsv, const char *name,
			     const char *value)
{
	switch (errsv) {
	case ENOENT:
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\" does not exist in the pod's "
				   "namespaces",
				   name);
	case EACCES:
	case EROFS:
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\" is read-only", name);
	case EINVAL:
	case ERANGE:
	case EOVERFLOW:
		return berth_throw(error, INVALID_ARGUMENT,
				   "sysctl \"%s\": the kernel refused value "
				   "\"%s\": %s",
				   name, value, g_strerror(errsv));
	default:
		return berth_throw_errno(error, errsv, "sysctl \"%s\"", name);
	}
}

/* /proc/sys resolves to the namespaces of the calling thread. */
static gboolean ns_sysctl_apply(const char *entry, GError **error)
{
	const char *eq = strchr(entry, '=');
	g_autofree char *name = g_strndup(entry, eq - entry);
	const char *value = eq + 1;
	g_autofree char *rel = pod_sysctl_path(name, error);
	if (rel == NULL)
		return FALSE;
	g_autofree char *path = g_build_filename("/proc/sys", rel, NULL);
	autofd fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return sysctl_throw(error, errno, name, value);
	gsize len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		return sysctl_throw(error, errno, name, value);
	if ((gsize)n != len)
		return berth_throw(error, INTERNAL,
				   "sysctl \"%s\": short write", name);
	return TRUE;
}

/* The thread's own namespace, or the holder's user namespace (which no
 * thread of a multithreaded process can enter). */
static gboolean ns_pin(NsJob *job, const char *kind, GError **error)
{
	g_autofree char *pin = g_build_filename(job->spec->pin_dir, kind, NULL);
	autofd fd = open(pin, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return berth_throw_errno(error, errno, "create pin %s", pin);
	g_ptr_array_add(job->pins, g_strdup(pin));
	g_autofree char *src =
		strcmp(kind, "user") == 0
			? g_strdup_printf("/proc/%d/ns/user", (int)job->holder)
			: g_strdup_printf("/proc/thread-self/ns/%s", kind);
	if (mount(src, pin, NULL, MS_BIND, NULL) < 0)
		return berth_throw_errno(error, errno, "bind %s on %s", src,
					 pin);
	return TRUE;
}

/* Enter the holder's namespaces (made inside its user namespace). */
static gboolean ns_enter_holder(NsJob *job, GError **error)
{
	for (guint k = 0; k < NS_KINDS; k++) {
		if (!kind_wanted(job->spec, k) ||
		    kind_flags[k] == CLONE_NEWUSER)
			continue;
		g_autofree char *path = g_strdup_printf(
			"/proc/%d/ns/%s", (int)job->holder, ns_kinds[k]);
		autofd fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, kind_flags[k]) < 0)
			return berth_throw_errno(error, errno, "enter %s",
						 path);
	}
	return TRUE;
}

static gboolean ns_thread_run(NsJob *job, GError **error)
{
	const PodNsSpec *s = job->spec;
	if (job->holder > 0) {
		if (!ns_enter_holder(job, error))
			return FALSE;
	} else if (unshare(ns_flags(s)) < 0) {
		return berth_throw_errno(error, errno, "unshare");
	}
	if (s->new_uts && sethostname(s->hostname, strlen(s->hostname)) < 0)
		return berth_throw_errno(error, errno, "set hostname %s",
					 s->hostname);
	if (s->new_net && !ns_lo_up(error))
		return FALSE;
	for (guint i = 0; s->sysctls && s->sysctls[i]; i++)
		if (!ns_sysctl_apply(s->sysctls[i], error))
			return FALSE;
	for (guint k = 0; k < NS_KINDS; k++)
		if (kind_wanted(s, k) && !ns_pin(job, ns_kinds[k], error))
			return FALSE;
	return TRUE;
}

/* Runs in a thread of its own; whatever it did not pin dies with it. */
static gpointer ns_thread(gpointer data)
{
	NsJob *job = data;
	ns_thread_run(job, &job->error);
	return NULL;
}

/* --- pins --------------------------------------------------------------- */

/* Unmount (every stacked mount) and unlink; absent is fine. */
static gboolean pin_remove(const char *path, GError **error)
{
	if (!berth_unmount_all(path, error))
		return FALSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", path);
	return TRUE;
}

static void ns_undo(GPtrArray *pins)
{
	for (guint i = pins->len; i > 0; i--) {
		g_autoptr(GError) err = NULL;
		if (!pin_remove(pins->pdata[i - 1], &err))
			log_error("undo pod namespaces: %s", err->message);
	}
}

gboolean pod_ns_exists(const char *pin_path)
{
	struct statfs sf;
	return pin_path && statfs(pin_path, &sf) == 0 &&
	       sf.f_type == NSFS_MAGIC;
}

gboolean pod_ns_release(const char *pin_dir, GError **error)
{
	if (!path_is_clean(pin_dir))
		return berth_throw(error, INVALID_ARGUMENT,
				   "namespace pin dir \"%s\" is not a clean "
				   "absolute path",
				   pin_dir ? pin_dir : "");
	for (guint k = 0; k < NS_KINDS; k++) {
		g_autofree char *pin =
			g_build_filename(pin_dir, ns_kinds[k], NULL);
		if (!pin_remove(pin, error))
			return FALSE;
	}
	if (rmdir(pin_dir) == 0 || errno == ENOENT)
		return TRUE;
	if (errno == ENOTEMPTY || errno == EEXIST)
		return berth_throw(error, FAILED_PRECONDITION,
				   "%s holds files other than namespace pins",
				   pin_dir);
	return berth_throw_errno(error, errno, "remove %s", pin_dir);
}

void pod_ns_clear(PodNs *ns)
{
	g_clear_pointer(&ns->net, g_free);
	g_clear_pointer(&ns->ipc, g_free);
	g_clear_pointer(&ns->uts, g_free);
	g_clear_pointer(&ns->user, g_free);
}

/* --- the private root --------------------------------------------------- */

static gboolean is_mount_root(const char *dir)
{
	struct statx sx;
	if (statx(AT_FDCWD, dir, AT_SYMLINK_NOFOLLOW, 0, &sx) < 0)
		return FALSE;
	return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Bind dir onto itself when it is not a mount point yet (recursively, so
 * pins left by an earlier berthd stay visible), then make it and every
 * mount below it private. */
static gboolean root_make_private(const char *dir, GError **error)
{
	g_autoptr(GPtrArray) mi = mountinfo_read(error);
	if (mi == NULL)
		return FALSE;
	const MountEntry *e = mountinfo_find(mi, dir);
	if (e && mountinfo_is_private(e))
		return TRUE;
	if (e == NULL && mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
		return berth_throw_errno(error, errno, "bind %s on itself",
					 dir);
	if (mount(NULL, dir, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
		return berth_throw_errno(error, errno, "make %s private", dir);
	log_debug("made %s a private mount for namespace pins", dir);
	return TRUE;
}

gboolean pod_ns_prepare_root(const char *dir, GError **error)
{
	g_autoptr(GMutexLocker) locker = g_mutex_locker_new(&root_lock);
	if (root_done && g_hash_table_contains(root_done, dir) &&
	    is_mount_root(dir))
		return TRUE;
	if (!berth_mkdir_p(dir, 0711, error))
		return FALSE;
	g_autofree char *real = realpath(dir, NULL);
	if (real == NULL)
		return berth_throw_errno(error, errno, "resolve %s", dir);
	if (!root_make_private(real, error))
		return FALSE;
	if (root_done == NULL)
		root_done = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	g_hash_table_add(root_done, g_strdup(dir));
	return TRUE;
}

/* --- create ------------------------------------------------------------- */

static gboolean ns_run_job(NsJob *job, GError **error)
{
	GError *terr = NULL;
	GThread *t = g_thread_try_new("berth-podns", ns_thread, job, &terr);
	if (t == NULL) {
		g_autoptr(GError) owned = terr;
		return berth_throw(error, RESOURCE_EXHAUSTED,
				   "start namespace thread: %s",
				   owned->message);
	}
	g_thread_join(t); /* also drops the last reference to t */
	if (job->error) {
		g_propagate_error(error, job->error);
		job->error = NULL;
		return FALSE; // cppcheck-suppress memleak
	}
	return TRUE; // cppcheck-suppress memleak
}

gboolean pod_ns_create(const PodNsSpec *spec, PodNs *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (!ns_spec_check(spec, error))
		return FALSE;
	if (ns_flags(spec) == 0)
		return TRUE;
	g_autofree char *root = g_path_get_dirname(spec->pin_dir);
	if (!pod_ns_prepare_root(root, error))
		return FALSE;
	gboolean made_dir = mkdir(spec->pin_dir, 0711) == 0;
	if (!made_dir && errno != EEXIST)
		return berth_throw_errno(error, errno, "create %s",
					 spec->pin_dir);
	g_autoptr(GPtrArray) pins = g_ptr_array_new_with_free_func(g_free);
	NsJob job = {.spec = spec, .pins = pins};
	UsernsHolder holder = {.pid = -1, .release_fd = -1};
	gboolean ok = spec->userns == NULL ||
		      userns_holder_start(spec->userns, ns_flags(spec), &holder,
					  error);
	job.holder = holder.pid;
	ok = ok && ns_run_job(&job, error);
	userns_holder_stop(&holder);
	if (!ok) {
		ns_undo(pins);
		if (made_dir)
			rmdir(spec->pin_dir);
		g_prefix_error(error, "pod namespaces in %s: ", spec->pin_dir);
		return FALSE;
	}
	PodNs ns = {0};
	char **slots[NS_KINDS] = {&ns.net, &ns.ipc, &ns.uts, &ns.user};
	for (guint k = 0; k < NS_KINDS; k++)
		if (kind_wanted(spec, k))
			*slots[k] = g_build_filename(spec->pin_dir, ns_kinds[k],
						     NULL);
	*out = ns;
	return TRUE;
}
