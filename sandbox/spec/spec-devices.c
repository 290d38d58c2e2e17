/* A container's device nodes and the device cgroup rules that go with
 * them: deny everything but what the request names (the runtime adds the
 * standard /dev/null, /dev/zero, ... itself); a privileged container gets
 * every device node of the host and may use any device. */
#include "sandbox/spec/spec-private.h"
#include "util/error.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#define WALK_MAX_DEPTH 8

typedef struct {
	json_t *devices;   /* linux.devices */
	json_t *rules;	   /* linux.resources.devices */
	GHashTable *paths; /* container paths already listed */
} DevSet;

static gboolean check_access(const char *perms, GError **error)
{
	if (strspn(perms, "rwm") != strlen(perms))
		return berth_throw(error, INVALID_ARGUMENT,
				   "device permissions \"%s\" are not a "
				   "combination of r, w and m",
				   perms);
	return TRUE;
}

static void add_node(DevSet *d, const char *path, const struct stat *st,
		     const char *access)
{
	if (g_hash_table_contains(d->paths, path))
		return;
	g_hash_table_add(d->paths, g_strdup(path));
	const char *type = S_ISBLK(st->st_mode) ? "b" : "c";
	json_int_t major_ = major(st->st_rdev), minor_ = minor(st->st_rdev);
	json_array_append_new(d->devices,
			      json_pack("{s:s, s:s, s:I, s:I, s:i, s:I, s:I}",
					"path", path, "type", type, "major",
					major_, "minor", minor_, "fileMode",
					(int)(st->st_mode & 07777), "uid",
					(json_int_t)st->st_uid, "gid",
					(json_int_t)st->st_gid));
	if (access != NULL)
		json_array_append_new(d->rules,
				      json_pack("{s:b, s:s, s:I, s:I, s:s}",
						"allow", 1, "type", type,
						"major", major_, "minor",
						minor_, "access", access));
}

static gboolean is_device(const struct stat *st)
{
	return S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode);
}

/* Directories of a host /dev that hold no device a container should get
 * as a node: the runtime mounts its own pts, shm and mqueue. */
static gboolean skip_host_entry(const char *name)
{
	return name[0] == '.' || strcmp(name, "pts") == 0 ||
	       strcmp(name, "shm") == 0 || strcmp(name, "mqueue") == 0 ||
	       strcmp(name, "console") == 0 || strcmp(name, "ptmx") == 0;
}

/* Every device node below host_dir, as ctr_dir/<relative path>. No
 * symlink is followed. */
static void walk_devices(DevSet *d, const char *host_dir, const char *ctr_dir,
			 const char *access, gboolean host_dev, int level)
{
	if (level > WALK_MAX_DEPTH)
		return;
	DIR *dir = opendir(host_dir);
	if (dir == NULL) {
		log_warn("devices: cannot read %s: %s", host_dir,
			 g_strerror(errno));
		return;
	}
	struct dirent *ent;
	while ((ent = readdir(dir)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 ||
		    strcmp(ent->d_name, "..") == 0 ||
		    (host_dev && skip_host_entry(ent->d_name)))
			continue;
		struct stat st;
		if (fstatat(dirfd(dir), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0)
			continue;
		g_autofree char *hp =
			g_build_filename(host_dir, ent->d_name, NULL);
		g_autofree char *cp =
			g_build_filename(ctr_dir, ent->d_name, NULL);
		if (S_ISDIR(st.st_mode))
			walk_devices(d, hp, cp, access, host_dev, level + 1);
		else if (is_device(&st))
			add_node(d, cp, &st, access);
	}
	closedir(dir);
}

static gboolean add_request_device(DevSet *d, const CtrDevice *dev,
				   GError **error)
{
	const char *access = *dev->permissions ? dev->permissions : "rwm";
	if (!check_access(access, error))
		return FALSE;
	if (!g_path_is_absolute(dev->container_path) ||
	    !g_path_is_absolute(dev->host_path))
		return berth_throw(error, INVALID_ARGUMENT,
				   "device %s -> %s: paths must be absolute",
				   dev->host_path, dev->container_path);
	struct stat st;
	if (stat(dev->host_path, &st) < 0)
		return berth_throw_errno(error, errno, "device %s",
					 dev->host_path);
	if (S_ISDIR(st.st_mode))
		walk_devices(d, dev->host_path, dev->container_path, access,
			     FALSE, 0);
	else if (is_device(&st))
		add_node(d, dev->container_path, &st, access);
	else
		return berth_throw(error, INVALID_ARGUMENT,
				   "device %s is not a device node",
				   dev->host_path);
	return TRUE;
}

gboolean oci_spec_add_devices(json_t *linux_, json_t *resources,
			      const CtrConfig *c, const CtrSpecContext *ctx,
			      GError **error)
{
	gboolean privileged = c->security.privileged;
	DevSet d = {
		json_array(), json_array(),
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL)};
	json_array_append_new(d.rules, json_pack("{s:b, s:s}", "allow",
						 privileged, "access", "rwm"));
	gboolean ok = TRUE;
	for (guint i = 0; ok && i < c->devices->len; i++)
		ok = add_request_device(&d, g_ptr_array_index(c->devices, i),
					error);
	if (ok && privileged) {
		const char *dev =
			ctx->host->dev_dir ? ctx->host->dev_dir : "/dev";
		walk_devices(&d, dev, "/dev", NULL, TRUE, 0);
	}
	g_hash_table_unref(d.paths);
	if (!ok) {
		json_decref(d.devices);
		json_decref(d.rules);
		return FALSE;
	}
	json_object_set_new(linux_, "devices", d.devices);
	json_object_set_new(resources, "devices", d.rules);
	return TRUE;
}
