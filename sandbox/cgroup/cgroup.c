/* The cgroupfs driver: which hierarchies are mounted (once per process),
 * creating a pod cgroup in all of them and removing it again. Stats are in
 * sandbox/cgroup-stats.c. */
#include "sandbox/cgroup/cgroup-private.h"
#include "sandbox/mountinfo.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct CgroupPath {
	char *relative;
	GPtrArray *dirs; /* char*, NULL-terminated */
};

/* --- hierarchies -------------------------------------------------------- */

static void hierarchy_free(gpointer p)
{
	CgroupHierarchy *h = p;
	g_free(h->mount_point);
	g_free(h->root);
	g_strfreev(h->controllers);
	g_free(h->name);
	g_free(h);
}

/* cgroup v1 mount options that are not controllers. */
static gboolean v1_is_option(const char *opt)
{
	static const char *const opts[] = {
		"rw",	"ro",  "noprefix",	 "clone_children", "xattr",
		"none", "all", "cpuset_v2_mode", "favordynmods"};
	for (gsize i = 0; i < G_N_ELEMENTS(opts); i++)
		if (strcmp(opt, opts[i]) == 0)
			return TRUE;
	return strchr(opt, '=') != NULL;
}

static CgroupHierarchy *hierarchy_from_mount(const MountEntry *e)
{
	CgroupHierarchy *h = g_new0(CgroupHierarchy, 1);
	h->v2 = strcmp(e->fstype, "cgroup2") == 0;
	h->mount_point = g_strdup(e->mount_point);
	h->root = g_strdup(e->root);
	if (h->v2)
		return h;
	g_auto(GStrv) opts = g_strsplit(e->super_opts, ",", -1);
	GPtrArray *ctrls = g_ptr_array_new();
	for (guint i = 0; opts[i]; i++) {
		if (g_str_has_prefix(opts[i], "name="))
			h->name = g_strdup(opts[i] + strlen("name="));
		else if (strcmp(opts[i], "noprefix") == 0)
			h->noprefix = TRUE;
		else if (!v1_is_option(opts[i]))
			g_ptr_array_add(ctrls, g_strdup(opts[i]));
	}
	g_ptr_array_add(ctrls, NULL);
	h->controllers = (char **)g_ptr_array_free(ctrls, FALSE);
	return h;
}

GPtrArray *cgroup_hierarchies_from_mounts(const GPtrArray *mounts)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(hierarchy_free);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (int pass = 0; pass < 2; pass++) {
		const char *fstype = pass == 0 ? "cgroup" : "cgroup2";
		for (guint i = 0; i < mounts->len; i++) {
			const MountEntry *e = mounts->pdata[i];
			if (strcmp(e->fstype, fstype) != 0 ||
			    g_hash_table_contains(seen, e->dev))
				continue;
			g_hash_table_add(seen, e->dev);
			g_ptr_array_add(out, hierarchy_from_mount(e));
		}
	}
	return out;
}

static GPtrArray *hierarchies_discover(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GPtrArray) mounts = mountinfo_read(&err);
	if (mounts == NULL) {
		log_error("cgroups: %s", err->message);
		return g_ptr_array_new_with_free_func(hierarchy_free);
	}
	GPtrArray *hs = cgroup_hierarchies_from_mounts(mounts);
	for (guint i = 0; i < hs->len; i++) {
		CgroupHierarchy *h = hs->pdata[i];
		if (!h->v2)
			continue;
		g_autofree char *ctrls =
			cgroup_read(h->mount_point, "cgroup.controllers", NULL);
		h->controllers = g_strsplit_set(ctrls ? ctrls : "", " \n", -1);
	}
	return hs;
}

const GPtrArray *cgroup_hierarchies(void)
{
	static GPtrArray *cached;
	if (g_once_init_enter(&cached)) {
		/* Kept for the life of the process. */
		// cppcheck-suppress leakNoVarFunctionCall
		g_once_init_leave(&cached, hierarchies_discover());
	}
	return cached;
}

gboolean cgroup_is_pure_v2(const GPtrArray *hs)
{
	return hs->len == 1 && ((CgroupHierarchy *)hs->pdata[0])->v2;
}

gboolean cgroup_hierarchy_has(const CgroupHierarchy *h, const char *ctrl)
{
	return h->controllers &&
	       g_strv_contains((const char *const *)h->controllers, ctrl);
}

char *cgroup_hierarchy_dir(const CgroupHierarchy *h, const char *rel)
{
	const char *rest = rel;
	if (strcmp(h->root, "/") != 0) {
		gsize n = strlen(h->root);
		if (strncmp(rel, h->root, n) != 0 ||
		    (rel[n] != '\0' && rel[n] != '/'))
			return NULL;
		rest = rel + n;
	}
	return g_build_filename(h->mount_point, rest, NULL);
}

/* --- cgroupfs files ----------------------------------------------------- */

char *cgroup_read(const char *dir, const char *file, GError **error)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	char *text = NULL;
	if (!berth_read_file(path, &text, NULL, error))
		return NULL;
	return g_strstrip(text);
}

/* One write; 0 or the errno. */
static int cgroup_write_errno(const char *path, const char *value)
{
	autofd fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, value, strlen(value)) < 0)
		return errno;
	return 0;
}

gboolean cgroup_write(const char *dir, const char *file, const char *value,
		      GError **error)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	int errsv = cgroup_write_errno(path, value);
	if (errsv != 0)
		return berth_throw_errno(error, errsv, "write \"%s\" to %s",
					 value, path);
	return TRUE;
}

/* --- names ---------------------------------------------------------------- */

static gboolean component_ok(const char *c)
{
	if (*c == '\0' || strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
		return FALSE;
	for (; *c; c++)
		if (!g_ascii_isalnum(*c) && !strchr("_.:@=+-", *c))
			return FALSE;
	return TRUE;
}

gboolean cgroup_check_path(const char *path, gboolean allow_root,
			   GError **error)
{
	if (path == NULL || path[0] != '/')
		return berth_throw(error, INVALID_ARGUMENT,
				   "cgroup path \"%s\" is not absolute",
				   path ? path : "");
	if (path[1] == '\0') {
		if (allow_root)
			return TRUE;
		return berth_throw(error, INVALID_ARGUMENT,
				   "cgroup path \"/\" is the root cgroup");
	}
	g_auto(GStrv) parts = g_strsplit(path + 1, "/", -1);
	for (guint i = 0; parts[i]; i++)
		if (!component_ok(parts[i])) {
			g_autofree char *esc = g_strescape(path, NULL);
			return berth_throw(error, INVALID_ARGUMENT,
					   "cgroup path \"%s\": malformed "
					   "(components must be non-empty, not "
					   "\".\" or \"..\", and use only "
					   "[A-Za-z0-9_.:@=+-])",
					   esc);
		}
	return TRUE;
}

char *cgroup_pod_relative(const char *parent, const char *pod_id,
			  GError **error)
{
	if (parent == NULL || *parent == '\0')
		parent = CGROUP_DEFAULT_PARENT;
	if (!cgroup_check_path(parent, TRUE, error))
		return NULL;
	if (g_str_has_suffix(parent, ".slice")) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"cgroup parent \"%s\" is a systemd slice, but the "
			"cgroup manager is cgroupfs",
			parent);
	}
	gsize n = pod_id ? strlen(pod_id) : 0;
	gboolean id_ok = n > 0 && n <= 128;
	for (gsize i = 0; id_ok && i < n; i++)
		id_ok = g_ascii_isalnum(pod_id[i]) || strchr("_-", pod_id[i]);
	if (!id_ok) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"pod id \"%s\" is not valid in a cgroup name",
			pod_id ? pod_id : "");
	}
	const char *sep = strcmp(parent, "/") == 0 ? "" : "/";
	return g_strdup_printf("%s%sberth-pod-%s", parent, sep, pod_id);
}

/* --- create ------------------------------------------------------------- */

/* A v1 cpuset cgroup starts with empty cpus and mems; fill them from the
 * parent so that tasks can join it. */
static gboolean cpuset_inherit(const CgroupHierarchy *h, const char *parent,
			       const char *dir, GError **error)
{
	const char *files[2] = {"cpuset.cpus", "cpuset.mems"};
	for (int i = 0; i < 2; i++) {
		const char *f =
			h->noprefix ? files[i] + strlen("cpuset.") : files[i];
		g_autofree char *own = cgroup_read(dir, f, error);
		if (own == NULL)
			return FALSE;
		if (*own != '\0')
			continue;
		g_autofree char *up = cgroup_read(parent, f, error);
		if (up == NULL || !cgroup_write(dir, f, up, error))
			return FALSE;
	}
	return TRUE;
}

gboolean cgroup_v2_enable_subtree(const char *dir, GError **error)
{
	g_autofree char *avail = cgroup_read(dir, "cgroup.controllers", error);
	if (avail == NULL)
		return FALSE;
	g_autofree char *on = cgroup_read(dir, "cgroup.subtree_control", error);
	if (on == NULL)
		return FALSE;
	g_auto(GStrv) want = g_strsplit(avail, " ", -1);
	g_auto(GStrv) have = g_strsplit(on, " ", -1);
	for (guint i = 0; want[i]; i++) {
		if (*want[i] == '\0' ||
		    g_strv_contains((const char *const *)have, want[i]))
			continue;
		g_autofree char *plus = g_strdup_printf("+%s", want[i]);
		g_autofree char *ctl =
			g_build_filename(dir, "cgroup.subtree_control", NULL);
		int errsv = cgroup_write_errno(ctl, plus);
		if (errsv == 0)
			continue;
		if (errsv == EBUSY)
			return berth_throw(
				error, FAILED_PRECONDITION,
				"cannot enable %s below %s: it holds "
				"processes of its own",
				want[i], dir);
		log_warn("cgroup: enable %s in %s: %s", want[i], ctl,
			 g_strerror(errsv));
	}
	return TRUE;
}

/* mkdir each missing level of dir below the mount point, recording what
 * was made in made. */
static gboolean hierarchy_mkdirs(const CgroupHierarchy *h, gboolean pure_v2,
				 const char *dir, GPtrArray *made,
				 GError **error)
{
	g_autofree char *cur = g_strdup(h->mount_point);
	g_auto(GStrv) parts = g_strsplit(dir + strlen(h->mount_point), "/", -1);
	for (guint i = 0; parts[i]; i++) {
		if (*parts[i] == '\0')
			continue;
		if (pure_v2 && !cgroup_v2_enable_subtree(cur, error))
			return FALSE;
		g_autofree char *next = g_build_filename(cur, parts[i], NULL);
		if (mkdir(next, 0755) == 0)
			g_ptr_array_add(made, g_strdup(next));
		else if (errno != EEXIST)
			return berth_throw_errno(error, errno, "mkdir %s",
						 next);
		if (cgroup_hierarchy_has(h, "cpuset") && !h->v2 &&
		    !cpuset_inherit(h, cur, next, error))
			return FALSE;
		g_free(cur);
		cur = g_steal_pointer(&next);
	}
	return TRUE;
}

static void path_undo(GPtrArray *made)
{
	for (guint i = made->len; i > 0; i--)
		if (rmdir(made->pdata[i - 1]) < 0)
			log_warn("cgroup: undo mkdir %s: %s",
				 (char *)made->pdata[i - 1], g_strerror(errno));
}

CgroupPath *cgroup_pod_create(const char *parent, const char *pod_id,
			      GError **error)
{
	g_autofree char *rel = cgroup_pod_relative(parent, pod_id, error);
	if (rel == NULL)
		return NULL;
	const GPtrArray *hs = cgroup_hierarchies();
	if (hs->len == 0) {
		return berth_throw_null(error, FAILED_PRECONDITION,
					"no cgroup hierarchy is mounted");
	}
	g_autoptr(GPtrArray) made = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(CgroupPath) p = g_new0(CgroupPath, 1);
	p->dirs = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		g_autofree char *dir = cgroup_hierarchy_dir(h, rel);
		if (dir == NULL)
			continue;
		if (!hierarchy_mkdirs(h, cgroup_is_pure_v2(hs), dir, made,
				      error)) {
			path_undo(made);
			g_prefix_error(error, "create cgroup %s: ", rel);
			return NULL;
		}
		g_ptr_array_add(p->dirs, g_steal_pointer(&dir));
	}
	g_ptr_array_add(p->dirs, NULL);
	p->relative = g_steal_pointer(&rel);
	return g_steal_pointer(&p);
}

const char *cgroup_path_relative(const CgroupPath *p)
{
	return p->relative;
}

const char *const *cgroup_path_dirs(const CgroupPath *p)
{
	return (const char *const *)p->dirs->pdata;
}

void cgroup_path_free(CgroupPath *p)
{
	if (p == NULL)
		return;
	g_free(p->relative);
	if (p->dirs)
		g_ptr_array_unref(p->dirs);
	g_free(p);
}

/* --- remove ------------------------------------------------------------- */

/* rmdir one cgroup; a cgroup whose last task just exited can stay busy
 * for a moment, so an empty-but-busy one is retried briefly. */
static gboolean cgroup_rmdir(const char *dir, GError **error)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return TRUE;
		if (errno != EBUSY)
			return berth_throw_errno(error, errno, "remove %s",
						 dir);
		g_autofree char *procs = cgroup_read(dir, "cgroup.procs", NULL);
		if (procs && *procs) {
			g_strdelimit(procs, "\n", ' ');
			return berth_throw(error, FAILED_PRECONDITION,
					   "cgroup %s still holds processes: "
					   "%s",
					   dir, procs);
		}
		g_usleep(5000);
	}
	return berth_throw(error, FAILED_PRECONDITION,
			   "cgroup %s stays busy with no process in it", dir);
}

static gboolean remove_tree(const char *dir, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	if (d == NULL) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		return berth_throw(error, INTERNAL, "%s", local->message);
	}
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *child = g_build_filename(dir, name, NULL);
		struct stat st;
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode) &&
		    !remove_tree(child, error))
			return FALSE;
	}
	return cgroup_rmdir(dir, error);
}

gboolean cgroup_remove(const char *relative_path, GError **error)
{
	if (!cgroup_check_path(relative_path, FALSE, error))
		return FALSE;
	const GPtrArray *hs = cgroup_hierarchies();
	for (guint i = 0; i < hs->len; i++) {
		g_autofree char *dir =
			cgroup_hierarchy_dir(hs->pdata[i], relative_path);
		if (dir && !remove_tree(dir, error))
			return FALSE;
	}
	return TRUE;
}

char *cgroup_container_path(const char *pod_cgroup, const char *id)
{
	return g_strdup_printf("%s/berth-%s%s", pod_cgroup, id,
			       cgroup_path_is_systemd(pod_cgroup) ? ".scope"
								  : "");
}

char *cgroup_container_oci_path(const char *pod_cgroup, const char *id)
{
	if (!cgroup_path_is_systemd(pod_cgroup))
		return cgroup_container_path(pod_cgroup, id);
	g_autofree char *slice = cgroup_path_slice(pod_cgroup);
	return g_strdup_printf("%s:berth:%s", slice, id);
}
