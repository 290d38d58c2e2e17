/* User and group resolution against the image's /etc/passwd and
 * /etc/group, read safely from inside the rootfs. */
#include "sandbox/spec/ctr-user.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ID_MAX 4294967294LL /* (uid_t)-1 means "no change" to the kernel */

void ctr_user_clear(CtrUser *u)
{
	if (u->additional_gids)
		g_array_unref(u->additional_gids);
	g_free(u->username);
	g_free(u->home);
	memset(u, 0, sizeof(*u));
}

void ctr_passwd_entry_clear(CtrPasswdEntry *e)
{
	g_free(e->name);
	g_free(e->home);
	memset(e, 0, sizeof(*e));
}

/* A decimal id in [0, ID_MAX], all of text. */
static gboolean parse_id(const char *text, guint32 *out)
{
	if (*text < '0' || *text > '9')
		return FALSE;
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > (unsigned long long)ID_MAX)
		return FALSE;
	*out = (guint32)v;
	return TRUE;
}

/* --- reading inside the rootfs ------------------------------------------ */

/* Without openat2: walk the components, refusing symlinks. */
static int open_nofollow_walk(int rootfd, const char *relpath)
{
	g_auto(GStrv) parts = g_strsplit(relpath, "/", -1);
	autofd dir = dup(rootfd);
	if (dir < 0)
		return -1;
	for (guint i = 0; parts[i]; i++) {
		if (*parts[i] == '\0' || strcmp(parts[i], ".") == 0)
			continue;
		if (strcmp(parts[i], "..") == 0) {
			errno = EPERM;
			return -1;
		}
		gboolean last = parts[i + 1] == NULL;
		int flags = O_CLOEXEC | O_NOFOLLOW |
			    (last ? O_RDONLY | O_NONBLOCK | O_NOCTTY
				  : O_PATH | O_DIRECTORY);
		int next = openat(dir, parts[i], flags);
		if (next < 0)
			return -1;
		close(dir);
		dir = next;
	}
	return berth_steal_fd(&dir);
}

static int open_in_root(int rootfd, const char *relpath)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, rootfd, relpath, &how, sizeof(how));
	if (fd >= 0 || errno != ENOSYS)
		return fd;
	return open_nofollow_walk(rootfd, relpath);
}

static char *read_fd_limited(int fd, const char *what, gsize max,
			     GError **error)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_throw_errno(error, errno, "stat %s", what), NULL;
	if (!S_ISREG(st.st_mode))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s is not a regular file", what);
	if ((guint64)st.st_size > max)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s is larger than %" G_GSIZE_FORMAT
					" bytes",
					what, max);
	GString *buf = g_string_sized_new((gsize)st.st_size + 1);
	char chunk[8192];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			g_string_free(buf, TRUE);
			return berth_throw_errno(error, errsv, "read %s", what),
			       NULL;
		}
		if (n == 0)
			break;
		if (buf->len + (gsize)n > max) {
			g_string_free(buf, TRUE);
			return berth_throw_null(error, INVALID_ARGUMENT,
						"%s grew past %" G_GSIZE_FORMAT
						" bytes",
						what, max);
		}
		g_string_append_len(buf, chunk, n);
	}
	return g_string_free(buf, FALSE);
}

char *ctr_user_read_rootfs_file(const char *rootfs, const char *relpath,
				gsize max, GError **error)
{
	autofd root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return berth_throw_errno(error, errno, "open rootfs %s",
					 rootfs),
		       NULL;
	autofd fd = open_in_root(root, relpath);
	/* A link loop or a path that leaves the rootfs is the image's. */
	if (fd < 0 && (errno == ELOOP || errno == EXDEV || errno == EPERM))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"open %s in %s: %s", relpath, rootfs,
					g_strerror(errno));
	if (fd < 0)
		return berth_throw_errno(error, errno, "open %s in %s", relpath,
					 rootfs),
		       NULL;
	g_autofree char *what = g_strdup_printf("%s in %s", relpath, rootfs);
	return read_fd_limited(fd, what, max, error);
}

/* --- parsing -------------------------------------------------------------- */

/* Call fn on each non-comment line split at ':' into at least min_fields
 * fields; stop when it returns TRUE. */
typedef gboolean (*LineFn)(char **fields, gpointer data);

static void for_each_entry(const char *text, guint min_fields, LineFn fn,
			   gpointer data)
{
	if (text == NULL)
		return;
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (guint i = 0; lines[i]; i++) {
		char *line = g_strstrip(lines[i]);
		if (*line == '\0' || *line == '#')
			continue;
		g_auto(GStrv) f = g_strsplit(line, ":", -1);
		if (g_strv_length(f) < min_fields || *f[0] == '\0')
			continue;
		if (fn(f, data))
			return;
	}
}

typedef struct {
	const char *name;
	guint32 uid;
	CtrPasswdEntry *out;
	gboolean found;
} PasswdQuery;

static gboolean passwd_line(char **f, gpointer data)
{
	PasswdQuery *q = data;
	guint32 uid, gid;
	if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return FALSE;
	if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
		return FALSE;
	q->out->name = g_strdup(f[0]);
	q->out->uid = uid;
	q->out->gid = gid;
	q->out->home = g_strdup(f[5] && *f[5] ? f[5] : "/");
	q->found = TRUE;
	return TRUE;
}

gboolean ctr_passwd_lookup(const char *text, const char *name, guint32 uid,
			   CtrPasswdEntry *out)
{
	PasswdQuery q = {.name = name, .uid = uid, .out = out};
	for_each_entry(text, 7, passwd_line, &q);
	return q.found;
}

typedef struct {
	const char *name;
	guint32 gid;
	gboolean found;
} GroupQuery;

static gboolean group_line(char **f, gpointer data)
{
	GroupQuery *q = data;
	if (strcmp(f[0], q->name) != 0 || !parse_id(f[2], &q->gid))
		return FALSE;
	q->found = TRUE;
	return TRUE;
}

gboolean ctr_group_lookup(const char *text, const char *name, guint32 *gid)
{
	GroupQuery q = {.name = name};
	for_each_entry(text, 3, group_line, &q);
	if (q.found)
		*gid = q.gid;
	return q.found;
}

typedef struct {
	const char *user;
	GArray *gids;
} MemberQuery;

static gboolean member_line(char **f, gpointer data)
{
	MemberQuery *q = data;
	guint32 gid;
	if (f[3] == NULL || !parse_id(f[2], &gid))
		return FALSE;
	g_auto(GStrv) members = g_strsplit(f[3], ",", -1);
	for (guint i = 0; members[i]; i++)
		if (strcmp(g_strstrip(members[i]), q->user) == 0) {
			g_array_append_val(q->gids, gid);
			break;
		}
	return FALSE;
}

void ctr_group_member_gids(const char *text, const char *user, GArray *gids)
{
	MemberQuery q = {.user = user, .gids = gids};
	for_each_entry(text, 3, member_line, &q);
}

/* --- resolution ----------------------------------------------------------- */

typedef struct {
	const char *rootfs;
	char *passwd; /* NULL when the image has none */
	char *group;
} UserFiles;

static void user_files_clear(UserFiles *f)
{
	g_free(f->passwd);
	g_free(f->group);
}

/* A missing file is no error: numeric ids still work without it. */
static gboolean read_optional(const char *rootfs, const char *rel, char **out,
			      GError **error)
{
	g_autoptr(GError) local = NULL;
	*out = ctr_user_read_rootfs_file(rootfs, rel, CTR_USER_FILE_MAX,
					 &local);
	if (*out != NULL ||
	    g_error_matches(local, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

static gboolean check_id(gint64 v, const char *what, guint32 *out,
			 GError **error)
{
	if (v < 0 || v > ID_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s %" G_GINT64_FORMAT " is out of range",
				   what, v);
	*out = (guint32)v;
	return TRUE;
}

/* Fill uid, gid, name, home from a passwd entry, or from the uid alone. */
static void user_from_entry(CtrUser *u, const CtrPasswdEntry *e, guint32 uid)
{
	u->uid = e->name ? e->uid : uid;
	u->gid = e->name ? e->gid : 0;
	u->username = g_strdup(e->name);
	u->home = g_strdup(e->home ? e->home : "/");
}

static gboolean user_by_name(const UserFiles *f, const char *name, CtrUser *u,
			     GError **error)
{
	CtrPasswdEntry e = {0};
	if (!ctr_passwd_lookup(f->passwd, name, 0, &e))
		return berth_throw(error, INVALID_ARGUMENT,
				   "user \"%s\" is not in the image's "
				   "/etc/passwd",
				   name);
	user_from_entry(u, &e, 0);
	ctr_passwd_entry_clear(&e);
	return TRUE;
}

static void user_by_uid(const UserFiles *f, guint32 uid, CtrUser *u)
{
	CtrPasswdEntry e = {0};
	ctr_passwd_lookup(f->passwd, NULL, uid, &e);
	user_from_entry(u, &e, uid);
	ctr_passwd_entry_clear(&e);
}

static gboolean group_by_spec(const UserFiles *f, const char *spec,
			      guint32 *gid, GError **error)
{
	if (parse_id(spec, gid))
		return TRUE;
	if (ctr_group_lookup(f->group, spec, gid))
		return TRUE;
	return berth_throw(error, INVALID_ARGUMENT,
			   "group \"%s\" is not in the image's /etc/group",
			   spec);
}

/* The image's User: "user" or "user:group", each a name or a number. */
static gboolean user_from_image(const UserFiles *f, const char *spec,
				CtrUser *u, GError **error)
{
	if (spec == NULL || *spec == '\0')
		spec = "0";
	g_auto(GStrv) parts = g_strsplit(spec, ":", 2);
	guint32 uid;
	if (*parts[0] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "image user \"%s\" has no user part", spec);
	if (parse_id(parts[0], &uid))
		user_by_uid(f, uid, u);
	else if (!user_by_name(f, parts[0], u, error))
		return FALSE;
	if (parts[1] == NULL || *parts[1] == '\0')
		return TRUE;
	return group_by_spec(f, parts[1], &u->gid, error);
}

static gboolean user_from_username(const UserFiles *f, const char *name,
				   const char *image_user, CtrUser *u,
				   GError **error)
{
	if (!user_by_name(f, name, u, error))
		return FALSE;
	if (image_user == NULL)
		return TRUE;
	const char *colon = strchr(image_user, ':');
	if (colon == NULL || colon[1] == '\0' ||
	    strncmp(image_user, name, (gsize)(colon - image_user)) != 0 ||
	    strlen(name) != (gsize)(colon - image_user))
		return TRUE;
	return group_by_spec(f, colon + 1, &u->gid, error);
}

static void add_gid_once(GArray *gids, guint32 gid)
{
	for (guint i = 0; i < gids->len; i++)
		if (g_array_index(gids, guint32, i) == gid)
			return;
	g_array_append_val(gids, gid);
}

static gboolean build_groups(const UserFiles *f, const CtrSecurity *sec,
			     CtrUser *u, GError **error)
{
	u->additional_gids = g_array_new(FALSE, FALSE, sizeof(guint32));
	add_gid_once(u->additional_gids, u->gid);
	if (sec->supplemental_groups_policy == CTR_GROUPS_MERGE &&
	    u->username != NULL) {
		g_autoptr(GArray) member =
			g_array_new(FALSE, FALSE, sizeof(guint32));
		ctr_group_member_gids(f->group, u->username, member);
		for (guint i = 0; i < member->len; i++)
			add_gid_once(u->additional_gids,
				     g_array_index(member, guint32, i));
	}
	for (guint i = 0; i < sec->supplemental_groups->len; i++) {
		guint32 gid;
		if (!check_id(
			    g_array_index(sec->supplemental_groups, gint64, i),
			    "supplemental group", &gid, error))
			return FALSE;
		add_gid_once(u->additional_gids, gid);
	}
	return TRUE;
}

static gboolean resolve_identity(const UserFiles *f, const CtrSecurity *sec,
				 const char *image_user, CtrUser *u,
				 GError **error)
{
	if (sec->run_as_user.set) {
		guint32 uid;
		if (!check_id(sec->run_as_user.value, "run_as_user", &uid,
			      error))
			return FALSE;
		user_by_uid(f, uid, u);
	} else if (*sec->run_as_username != '\0') {
		if (!user_from_username(f, sec->run_as_username, image_user, u,
					error))
			return FALSE;
	} else if (!user_from_image(f, image_user, u, error))
		return FALSE;
	if (sec->run_as_group.set &&
	    !check_id(sec->run_as_group.value, "run_as_group", &u->gid, error))
		return FALSE;
	return build_groups(f, sec, u, error);
}

gboolean ctr_user_resolve(const char *rootfs, const CtrSecurity *sec,
			  const char *image_user, CtrUser *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	if (sec->run_as_group.set && !sec->run_as_user.set &&
	    *sec->run_as_username == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "run_as_group is set without run_as_user "
				   "or run_as_username");
	UserFiles f = {.rootfs = rootfs};
	gboolean ok = read_optional(rootfs, "etc/passwd", &f.passwd, error) &&
		      read_optional(rootfs, "etc/group", &f.group, error) &&
		      resolve_identity(&f, sec, image_user, out, error);
	user_files_clear(&f);
	if (!ok)
		ctr_user_clear(out);
	return ok;
}
