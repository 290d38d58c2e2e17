/* Containers of pods with a user namespace of their own (hostUsers:
 * false). They join the pod's namespace (the spec names its pin); the
 * image's files come through an idmapped lower layer (image/rootfs.c);
 * every host file or directory the spec binds in (volumes, /etc/hosts,
 * resolv.conf, the termination log, image volumes) is replaced by an
 * idmapped copy of its mount, attached under <dir>/idmap/<n>: the
 * container sees as its own root what the host's root owns, and nothing
 * shared is ever chowned. Removal unmounts them. */
#include "sandbox/container/ctr-private.h"
#include "sandbox/pod/userns.h"
#include "util/idmap.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDMAP_DIR "idmap"

gboolean ctr_userns_check(const CtrConfig *cfg, const Pod *p, GError **error)
{
	const PodConfig *pc = p->config;
	if (!cfg->security.userns_given)
		return TRUE;
	if (cfg->security.userns == pc->userns &&
	    (!pc->userns ||
	     userns_map_equal(&cfg->security.userns_map, &pc->userns_map)))
		return TRUE;
	return berth_throw(error, INVALID_ARGUMENT,
			   USERNS_FIELD ": a container's user namespace must "
					"be its pod's (pod %s: %s)",
			   p->id,
			   pc->userns ? "mode POD with other mappings"
				      : "the host's, mode NODE");
}

/* The runtime reaches the rootfs and the idmapped mounts from inside the
 * user namespace (runc does): the dirs on the way must let anyone pass. */
gboolean ctr_userns_prepare_dir(const Container *c, GError **error)
{
	g_autofree char *parent = g_path_get_dirname(c->dir);
	if (!berth_mkdir_p(c->dir, 0711, error))
		return FALSE;
	if (chmod(parent, 0711) < 0 || chmod(c->dir, 0711) < 0)
		return berth_throw_errno(error, errno,
					 "open %s to the pod's "
					 "user namespace",
					 c->dir);
	return TRUE;
}

/* CDI marks its binds "idmap"/"ridmap" for the runtime to do; berth does
 * them itself, for every runtime: the options go, the recursion stays. */
static gboolean take_idmap_option(json_t *m)
{
	json_t *opts = json_object_get(m, "options");
	gboolean recursive = FALSE;
	for (size_t i = json_array_size(opts); i > 0; i--) {
		const char *o = json_string_value(json_array_get(opts, i - 1));
		if (g_strcmp0(o, "idmap") == 0 || g_strcmp0(o, "ridmap") == 0) {
			recursive |= o[0] == 'r';
			json_array_remove(opts, i - 1);
		}
	}
	return recursive;
}

static gboolean has_option(json_t *m, const char *opt)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(m, "options"), i, v)
	{
		if (g_strcmp0(json_string_value(v), opt) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Bind mounts of host files, but not of device nodes or the kernel's
 * filesystems (no idmapping there, and none needed), nor the pod's
 * /dev/shm (a tmpfs owned by the pod's root already). */
static gboolean wants_idmap(json_t *m, const char *shm)
{
	const char *src = json_string_value(json_object_get(m, "source"));
	const char *type = json_string_value(json_object_get(m, "type"));
	gboolean bind = g_strcmp0(type, "bind") == 0 || has_option(m, "bind") ||
			has_option(m, "rbind");
	if (!bind || src == NULL || src[0] != '/')
		return FALSE;
	static const char *const skip[] = {"/dev", "/proc", "/sys"};
	for (gsize i = 0; i < G_N_ELEMENTS(skip); i++) {
		gsize n = strlen(skip[i]);
		if (strncmp(src, skip[i], n) == 0 &&
		    (src[n] == '\0' || src[n] == '/'))
			return FALSE;
	}
	return shm == NULL || strcmp(src, shm) != 0;
}

/* An empty file or dir to attach the copy on, of the source's kind. */
static gboolean make_target(const char *src, const char *target, GError **error)
{
	struct stat st;
	if (stat(src, &st) < 0)
		return berth_throw_errno(error, errno, "stat %s", src);
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(target, 0755) < 0 && errno != EEXIST)
			return berth_throw_errno(error, errno, "mkdir %s",
						 target);
		return TRUE;
	}
	autofd fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_throw_errno(error, errno, "create %s", target);
	return TRUE;
}

gboolean ctr_userns_idmap_binds(const Container *c, const Pod *p, json_t *spec,
				const char *shm, GError **error)
{
	g_autofree char *dir = g_build_filename(c->dir, IDMAP_DIR, NULL);
	if (!berth_mkdir_p(dir, 0711, error))
		return FALSE;
	autofd fd = userns_open(p->userns, error);
	if (fd < 0)
		return FALSE;
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m)
	{
		gboolean ridmap = take_idmap_option(m);
		if (!wants_idmap(m, shm))
			continue;
		const char *src =
			json_string_value(json_object_get(m, "source"));
		g_autofree char *name = g_strdup_printf("%zu", i);
		g_autofree char *target = g_build_filename(dir, name, NULL);
		if (!make_target(src, target, error) ||
		    !idmap_mount(src, target, fd,
				 ridmap || has_option(m, "rbind"), FALSE,
				 error)) {
			g_prefix_error(error, "mount %s: ",
				       json_string_value(json_object_get(
					       m, "destination")));
			return FALSE;
		}
		json_object_set_new(m, "source", json_string(target));
	}
	return TRUE;
}

gboolean ctr_userns_unmount(CtrManager *m, Container *c, GError **error)
{
	(void)m;
	g_autofree char *dir = g_build_filename(c->dir, IDMAP_DIR, NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	if (d == NULL)
		return TRUE; /* never made, or gone */
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!berth_unmount_all(path, error))
			return FALSE;
		if (remove(path) < 0 && errno != ENOENT)
			return berth_throw_errno(error, errno, "remove %s",
						 path);
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", dir);
	return TRUE;
}
