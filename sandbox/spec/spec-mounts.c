/* A container's mounts: the kernel filesystems every container has, the
 * pod's /dev/shm and name files, /dev/termination-log, then the request's
 * bind mounts with their propagation and image volumes (read-only). A
 * request mount replaces a default one at the same destination. All are
 * ordered by depth so a parent is mounted before what goes inside it. */
#include "sandbox/mountinfo.h"
#include "sandbox/spec/spec-private.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	GPtrArray *mounts;    /* json_t*: the defaults */
	GPtrArray *requested; /* json_t*: the request's */
	GHashTable *dests;    /* destinations taken by the request */
	GPtrArray *mountinfo; /* MountEntry*, read on first need */
	gboolean any_shared, any_slave;
} MountSet;

static void mount_set_clear(MountSet *m)
{
	g_ptr_array_unref(m->mounts);
	g_ptr_array_unref(m->requested);
	g_hash_table_unref(m->dests);
	if (m->mountinfo)
		g_ptr_array_unref(m->mountinfo);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(MountSet, mount_set_clear)

static json_t *mount_json(const char *dest, const char *type,
			  const char *source, const char *const *options)
{
	return json_pack("{s:s, s:s, s:s, s:o}", "destination", dest, "type",
			 type, "source", source, "options",
			 oci_json_strv(options));
}

static void add_default(MountSet *m, const char *dest, const char *type,
			const char *source, const char *const *options)
{
	if (g_hash_table_contains(m->dests, dest))
		return;
	g_ptr_array_add(m->mounts, mount_json(dest, type, source, options));
}

static void add_bind_default(MountSet *m, const char *dest, const char *source,
			     gboolean readonly)
{
	const char *opts[] = {
		"rbind", "rprivate", "nosuid", "nodev", readonly ? "ro" : "rw",
		NULL};
	if (source != NULL)
		add_default(m, dest, "bind", source, opts);
}

static void add_kernel_fs(MountSet *m, gboolean privileged)
{
	const char *rw = privileged ? "rw" : "ro";
	const char *proc[] = {"nosuid", "noexec", "nodev", NULL};
	const char *dev[] = {"nosuid", "strictatime", "mode=755", "size=65536k",
			     NULL};
	const char *pts[] = {
		"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
		"mode=0620", "gid=5",  NULL};
	const char *mq[] = {"nosuid", "noexec", "nodev", NULL};
	const char *sys[] = {"nosuid", "noexec", "nodev", rw, NULL};
	const char *cg[] = {"nosuid", "noexec", "nodev", "relatime", rw, NULL};
	add_default(m, "/proc", "proc", "proc", proc);
	add_default(m, "/dev", "tmpfs", "tmpfs", dev);
	add_default(m, "/dev/pts", "devpts", "devpts", pts);
	add_default(m, "/dev/mqueue", "mqueue", "mqueue", mq);
	add_default(m, "/sys", "sysfs", "sysfs", sys);
	add_default(m, "/sys/fs/cgroup", "cgroup", "cgroup", cg);
}

/* The pod's shm; with the host's IPC namespace the host's /dev/shm (the
 * segments there belong to it); else one private to the container. */
static void add_shm(MountSet *m, const CtrSpecContext *ctx)
{
	const char *bind[] = {"rbind",	"rprivate", "nosuid",
			      "noexec", "nodev",    NULL};
	const char *tmpfs[] = {"nosuid",    "noexec",	   "nodev",
			       "mode=1777", "size=65536k", NULL};
	if (ctx->shm_path)
		add_default(m, "/dev/shm", "bind", ctx->shm_path, bind);
	else if (ctx->ipcns == NULL)
		add_default(m, "/dev/shm", "bind", "/dev/shm", bind);
	else
		add_default(m, "/dev/shm", "tmpfs", "shm", tmpfs);
}

static void add_pod_files(MountSet *m, const CtrConfig *c,
			  const CtrSpecContext *ctx)
{
	gboolean ro = c->security.readonly_rootfs;
	add_bind_default(m, "/etc/resolv.conf", ctx->resolv_conf, ro);
	add_bind_default(m, "/etc/hosts", ctx->hosts, ro);
	add_bind_default(m, "/etc/hostname", ctx->hostname_file, ro);
	add_bind_default(m, "/dev/termination-log", ctx->termination_log,
			 FALSE);
}

/* --- the request's mounts ------------------------------------------------- */

static const char *propagation_option(CtrPropagation p)
{
	switch (p) {
	case CTR_PROPAGATION_HOST_TO_CONTAINER:
		return "rslave";
	case CTR_PROPAGATION_BIDIRECTIONAL:
		return "rshared";
	default:
		return "rprivate";
	}
}

/* The topmost mount holding path: the longest mount point that is path
 * or a parent of it, the last listed on ties. */
static const MountEntry *mount_of(GPtrArray *entries, const char *path)
{
	const MountEntry *best = NULL;
	gsize best_len = 0;
	for (guint i = 0; i < entries->len; i++) {
		const MountEntry *e = g_ptr_array_index(entries, i);
		gsize n = strlen(e->mount_point);
		gboolean under = strcmp(e->mount_point, "/") == 0 ||
				 (strncmp(path, e->mount_point, n) == 0 &&
				  (path[n] == '/' || path[n] == '\0'));
		if (under && n >= best_len) {
			best = e;
			best_len = n;
		}
	}
	return best;
}

/* rshared needs a shared source mount (else nothing propagates back),
 * rslave a shared or slave one. */
static gboolean check_propagation(MountSet *m, const CtrMount *cm,
				  const char *source, GError **error)
{
	if (cm->propagation == CTR_PROPAGATION_PRIVATE)
		return TRUE;
	if (m->mountinfo == NULL &&
	    (m->mountinfo = mountinfo_read(error)) == NULL)
		return FALSE;
	const MountEntry *e = mount_of(m->mountinfo, source);
	const char *opt = e ? e->optional : "";
	gboolean shared = strstr(opt, "shared:") != NULL;
	gboolean slave = strstr(opt, "master:") != NULL;
	if (cm->propagation == CTR_PROPAGATION_BIDIRECTIONAL && !shared)
		return berth_throw(error, FAILED_PRECONDITION,
				   "mount %s: bidirectional propagation needs "
				   "%s on a shared mount; %s is not shared",
				   cm->container_path, source,
				   e ? e->mount_point : "its mount");
	if (!shared && !slave)
		return berth_throw(error, FAILED_PRECONDITION,
				   "mount %s: host-to-container propagation "
				   "needs %s on a shared or slave mount; %s is "
				   "private",
				   cm->container_path, source,
				   e ? e->mount_point : "its mount");
	m->any_shared |= cm->propagation == CTR_PROPAGATION_BIDIRECTIONAL;
	m->any_slave |= cm->propagation == CTR_PROPAGATION_HOST_TO_CONTAINER;
	return TRUE;
}

static gboolean check_mount(const CtrMount *cm, const CtrSpecContext *ctx,
			    GError **error)
{
	if (!g_path_is_absolute(cm->container_path) ||
	    strcmp(cm->container_path, "/") == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "mount container path \"%s\" is not an "
				   "absolute path below /",
				   cm->container_path);
	if (!g_path_is_absolute(cm->host_path))
		return berth_throw(error, INVALID_ARGUMENT,
				   "mount %s: host path \"%s\" is not absolute",
				   cm->container_path, cm->host_path);
	if (cm->recursive_read_only &&
	    (!cm->readonly || cm->propagation != CTR_PROPAGATION_PRIVATE))
		return berth_throw(error, INVALID_ARGUMENT,
				   "mount %s: recursive read-only needs "
				   "readonly and private propagation",
				   cm->container_path);
	/* Never a silent plain "ro": sub-mounts would stay writable. */
	if (cm->recursive_read_only && !ctx->rro_mounts)
		return berth_throw(error, FAILED_PRECONDITION,
				   "mount %s: recursive read-only is not "
				   "supported by runtime handler %s on this "
				   "host (see Status runtime_handlers)",
				   cm->container_path,
				   ctx->runtime ? ctx->runtime : "?");
	return TRUE;
}

/* An image volume, mounted by the caller at source: read-only whatever
 * the request says (an image is shared by every container using it). */
static gboolean add_image_volume(MountSet *m, const CtrMount *cm,
				 const char *source, GError **error)
{
	if (!g_path_is_absolute(cm->container_path) ||
	    strcmp(cm->container_path, "/") == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "image volume container path \"%s\" is not "
				   "an absolute path below /",
				   cm->container_path);
	if (source == NULL)
		return berth_throw(error, INTERNAL,
				   "image volume %s: image %s is not mounted",
				   cm->container_path, cm->image);
	g_autofree char *dest =
		g_canonicalize_filename(cm->container_path, "/");
	const char *opts[] = {"rbind",	"rprivate", "ro",
			      "nosuid", "nodev",    NULL};
	g_ptr_array_add(m->requested, mount_json(dest, "bind", source, opts));
	g_hash_table_add(m->dests, g_steal_pointer(&dest));
	return TRUE;
}

static gboolean add_request_mount(MountSet *m, const CtrMount *cm,
				  const CtrSpecContext *ctx, GError **error)
{
	if (!check_mount(cm, ctx, error))
		return FALSE;
	/* Symlinks are resolved here: the target is what gets mounted. */
	g_autofree char *source = realpath(cm->host_path, NULL);
	if (source == NULL)
		return berth_throw_errno(error, errno, "mount %s: host path %s",
					 cm->container_path, cm->host_path);
	if (!check_propagation(m, cm, source, error))
		return FALSE;
	if (cm->selinux_relabel)
		log_info("mount %s: selinux_relabel ignored: berth does not "
			 "relabel",
			 cm->container_path);
	g_autofree char *dest =
		g_canonicalize_filename(cm->container_path, "/");
	const char *opts[] = {"rbind", propagation_option(cm->propagation),
			      cm->readonly ? "ro" : "rw",
			      cm->recursive_read_only ? "rro" : NULL, NULL};
	g_ptr_array_add(m->requested, mount_json(dest, "bind", source, opts));
	g_hash_table_add(m->dests, g_steal_pointer(&dest));
	return TRUE;
}

static guint depth(const char *path)
{
	guint n = 0;
	for (const char *p = path; *p; p++)
		if (*p == '/' && p[1] != '\0' && p[1] != '/')
			n++;
	return n;
}

static gint by_depth(gconstpointer a, gconstpointer b)
{
	const char *da = json_string_value(
		json_object_get(*(json_t *const *)a, "destination"));
	const char *db = json_string_value(
		json_object_get(*(json_t *const *)b, "destination"));
	return (gint)depth(da) - (gint)depth(db);
}

gboolean oci_spec_add_mounts(json_t *spec, const CtrConfig *c,
			     const CtrSpecContext *ctx, GError **error)
{
	g_auto(MountSet) m = {
		.mounts = g_ptr_array_new_with_free_func(
			(GDestroyNotify)json_decref),
		.requested = g_ptr_array_new_with_free_func(
			(GDestroyNotify)json_decref),
		.dests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					       NULL),
	};
	for (guint i = 0; i < c->mounts->len; i++) {
		const CtrMount *cm = g_ptr_array_index(c->mounts, i);
		const char *volume =
			ctx->image_volumes != NULL &&
					i < ctx->image_volumes->len
				? g_ptr_array_index(ctx->image_volumes, i)
				: NULL;
		if (cm->image[0] != '\0'
			    ? !add_image_volume(&m, cm, volume, error)
			    : !add_request_mount(&m, cm, ctx, error))
			return FALSE;
	}
	add_kernel_fs(&m, c->security.privileged);
	add_shm(&m, ctx);
	add_pod_files(&m, c, ctx);
	for (guint i = 0; i < m.requested->len; i++)
		g_ptr_array_add(m.mounts,
				json_incref(g_ptr_array_index(m.requested, i)));
	/* GLib's sort is stable: equal depths keep this order. */
	g_ptr_array_sort(m.mounts, by_depth);
	json_t *list = json_array();
	for (guint i = 0; i < m.mounts->len; i++)
		json_array_append(list, g_ptr_array_index(m.mounts, i));
	json_object_set_new(spec, "mounts", list);
	json_t *linux_ = json_object_get(spec, "linux");
	if (m.any_shared || m.any_slave)
		json_object_set_new(
			linux_, "rootfsPropagation",
			json_string(m.any_shared ? "rshared" : "rslave"));
	return TRUE;
}
