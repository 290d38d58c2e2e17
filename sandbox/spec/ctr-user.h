/* Who a container's first process runs as: the CRI's run_as_user,
 * run_as_username, run_as_group and supplemental groups, or the image's
 * User, resolved against the image's own /etc/passwd and /etc/group. Those
 * files are read inside the rootfs without ever following a symlink out of
 * it, and parsed here (never with the host's NSS). */
#pragma once

#include "sandbox/container/ctrconfig.h"

#include <glib.h>

/* passwd and group files bigger than this are refused. */
#define CTR_USER_FILE_MAX (4 * 1024 * 1024)

typedef struct {
	guint32 uid;
	guint32 gid;
	GArray *additional_gids; /* guint32; the primary gid first */
	char *username;		 /* the passwd name of uid, or NULL */
	char *home;		 /* from passwd, "/" when unknown */
} CtrUser;

void ctr_user_clear(CtrUser *u);

/* Resolve the identity. Rules:
 * - run_as_group without run_as_user or run_as_username: INVALID_ARGUMENT.
 * - run_as_user (wins over run_as_username): that uid; gid from its
 *   passwd entry, else 0.
 * - run_as_username: looked up in <rootfs>/etc/passwd; unknown is
 *   INVALID_ARGUMENT. When the image's User is "<that name>:<group>" the
 *   group applies (kubelet passes only the name part on).
 * - neither: the image's User ("name", "uid", "uid:gid", "name:group";
 *   NULL or "" is root). Unknown names are INVALID_ARGUMENT.
 * - run_as_group replaces the gid.
 * - groups: Merge adds the groups whose member list in /etc/group names
 *   the user, then the requested ones; Strict only the requested ones.
 * Ids are 0..4294967294; anything else is INVALID_ARGUMENT. */
gboolean ctr_user_resolve(const char *rootfs, const CtrSecurity *sec,
			  const char *image_user, CtrUser *out, GError **error);

/* Read <rootfs>/<relpath> (relpath has no leading '/'), resolving every
 * symlink as if rootfs were "/" (openat2 RESOLVE_IN_ROOT; where the kernel
 * lacks it, any symlink on the way is refused). Only regular files up to
 * max bytes. NULL with NOT_FOUND when it does not exist. */
char *ctr_user_read_rootfs_file(const char *rootfs, const char *relpath,
				gsize max, GError **error);

typedef struct {
	char *name;
	guint32 uid;
	guint32 gid;
	char *home;
} CtrPasswdEntry;

void ctr_passwd_entry_clear(CtrPasswdEntry *e);

/* Find the first passwd line with that name (name != NULL) or that uid.
 * Comments, blank and malformed lines are skipped. */
gboolean ctr_passwd_lookup(const char *text, const char *name, guint32 uid,
			   CtrPasswdEntry *out);

/* The gid of the named group in group-file text. */
gboolean ctr_group_lookup(const char *text, const char *name, guint32 *gid);

/* Append to gids (guint32) the gid of every group listing user as a
 * member, in file order. */
void ctr_group_member_gids(const char *text, const char *user, GArray *gids);
