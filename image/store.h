/* The image store: OCI layers and flattened image trees in one ostree
 * `bare` repo, image metadata as JSON files beside it, and the read-only
 * hardlink checkouts and overlay mounts that containers run from.
 * Every function is safe to call from many threads at once. */
#pragma once

#include "image/fsinfo.h"

#include <glib.h>

typedef struct ImageStore ImageStore;

/* What the store knows of one image. The store hands out copies; a
 * caller filling one for image_store_commit_image may leave any vector
 * or table NULL for "none". */
typedef struct {
	char *id;	       /* "sha256:<hex>" of the config blob */
	char **repo_tags;      /* "domain/path:tag", NULL-terminated */
	char **repo_digests;   /* "domain/path@sha256:<hex>" */
	char *manifest_digest; /* the manifest pulled; NULL when unknown */
	char **diff_ids;       /* uncompressed layer digests, bottom first */
	guint64 size;	       /* bytes; 0 in a commit: sum of the layer tars */
	char *config_json;     /* the config blob as pulled; may be NULL */
	char *user;	       /* config.User; NULL when unset */
	GHashTable *annotations; /* char* → char*; manifest annotations */
	gboolean pinned;	 /* never garbage-collected by kubelet */
	gint64 created_ns;	 /* first stored here; 0 in a commit: now */
} ImageRecord;

/* A deep copy whose vectors and table are never NULL. */
ImageRecord *image_record_copy(const ImageRecord *rec);
void image_record_free(ImageRecord *rec);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageRecord, image_record_free)

/* Open (creating when missing) the store under dir, normally
 * <root>/storage: repo/ (ostree, bare), images/<hex>.json, checkouts/.
 * Finishes or rolls back whatever a crash left half-made, so that every
 * image listed afterwards can be run; see docs/images.md. Needs root. */
ImageStore *image_store_open(const char *dir, GError **error);
/* Close the store. No call may be running; mounts and checkouts stay. */
void image_store_free(ImageStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageStore, image_store_free)

/* --- layers ------------------------------------------------------------ */

/* The layer with this diff_id ("sha256:<hex>") is stored. A TRUE answer,
 * like an import, claims the layer for the caller's coming commit: it is
 * not pruned until an image commit uses it or the grace period below
 * passes, so a pull that skips the download can still commit its image
 * while another image using the layer is removed. */
gboolean image_store_has_layer(ImageStore *store, const char *diff_id);

/* Read one layer tar stream from fd (gzip, zstd or plain; detected) up to
 * its end, check that the uncompressed bytes hash to diff_id, and store
 * the layer. All or nothing: on any failure, or a crash, nothing of it is
 * left. fd stays open and owned by the caller; it is not read at all when
 * the layer is already stored. Concurrent imports of one diff_id: one
 * reads its stream, the others wait for it (and take over with their own
 * stream when it fails). DATA_LOSS when the stream is corrupt, truncated
 * or hashes to another digest; INVALID_ARGUMENT for a bad diff_id or an
 * entry the store cannot represent. */
gboolean image_store_import_layer_fd(ImageStore *store, const char *diff_id,
				     int fd, GError **error);

/* How long a claim (has_layer, import) protects a layer that no image
 * uses from prune. Default 600 s; 0 prunes such layers at the next prune
 * (after a removal, and at open). */
void image_store_set_layer_grace(ImageStore *store, gint64 seconds);

/* --- images ------------------------------------------------------------ */

/* Store an image whose layers are all stored: flatten them into one tree
 * (OCI whiteout rules) and record rec. Tags and digests rec names move to
 * this image from any other image that held them; that image keeps its
 * other names, and stays listed by id when none are left. For an image
 * already stored this only merges names and updates the other fields.
 * NOT_FOUND when a layer is missing; INVALID_ARGUMENT for a malformed
 * record (bad digests or names, a config that does not hash to id or
 * lists other diff_ids). */
gboolean image_store_commit_image(ImageStore *store, const ImageRecord *rec,
				  GError **error);

/* Copies of every image (ImageRecord*, with a free function), by id.
 * config_json is left NULL in them (ListImages needs none of it; lookup
 * has it). */
GPtrArray *image_store_list(ImageStore *store);

/* Find an image by full id ("sha256:<hex>"), bare hex id, a unique id
 * prefix of at least IMAGE_STORE_MIN_PREFIX hex digits (with or without
 * "sha256:"), a tag ("domain/path:tag") or a repo digest
 * ("domain/path@sha256:…"), as the caller normalised it. A copy; NOT_FOUND
 * when absent, INVALID_ARGUMENT when a prefix is ambiguous. */
#define IMAGE_STORE_MIN_PREFIX 3
ImageRecord *image_store_lookup(ImageStore *store, const char *name,
				GError **error);

/* Called under the store's image lock before a removal; TRUE means a
 * container uses the image. It must not call back into the store. */
typedef gboolean (*ImageInUseFunc)(const char *id, void *data);
void image_store_set_in_use_check(ImageStore *store, ImageInUseFunc fn,
				  void *data);

/* Remove the image that name resolves to (id, tag or repo digest; no
 * prefixes) with all its tags and digests, its tree and metadata; then
 * prune layers no image uses and unreferenced objects. Success when
 * there is no such image. FAILED_PRECONDITION when the in-use check
 * says a container uses it. */
gboolean image_store_remove(ImageStore *store, const char *name,
			    GError **error);

/* --- rootfs ------------------------------------------------------------- */

/* The path of the image's shared hardlink checkout (a read-only mount;
 * never write to it), created on first use. Each call takes a reference
 * that image_store_checkout_release drops. NOT_FOUND for an unknown id. */
char *image_store_checkout(ImageStore *store, const char *id, GError **error);
void image_store_checkout_release(ImageStore *store, const char *id);

/* Mount an overlay at <container_dir>/rootfs: lowerdir the image's
 * checkout, upperdir and workdir <container_dir>/upper and /work (created
 * here). *rootfs_out gets the mount path. Mounting an already mounted
 * container_dir succeeds without a second reference. container_dir must
 * be absolute and free of ',' ':' and '\\'.
 * userns_fd >= 0 (a user namespace): the lowerdir is instead an idmapped
 * read-only copy of the checkout's mount at <container_dir>/lower, and
 * upper/ belongs to the ids the image root's owner maps to, so files the
 * container writes land on the host as its mapped ids. */
gboolean image_rootfs_mount(ImageStore *store, const char *image_id,
			    const char *container_dir, int userns_fd,
			    char **rootfs_out, GError **error);
/* Unmount <container_dir>/rootfs (and lower/) and drop its checkout
 * reference; success when it is not mounted. upper/ and work/ are left to
 * the caller. */
gboolean image_rootfs_unmount(ImageStore *store, const char *image_id,
			      const char *container_dir, GError **error);

/* --- image volumes ------------------------------------------------------ */

/* Bind mount the image's checkout, or sub_path inside it ("": all of it),
 * read-only (and nosuid, nodev) at
 * <container_dir>/image-volumes/<index>-<hex>, whose path goes to
 * *path_out; it holds one checkout reference. sub_path must be relative
 * without ".." (INVALID_ARGUMENT) and exist in the image (NOT_FOUND);
 * symlinks in it resolve inside the image. Mounting an already mounted
 * one succeeds without a second reference. */
gboolean image_volume_mount(ImageStore *store, const char *image_id,
			    const char *sub_path, const char *container_dir,
			    guint index, char **path_out, GError **error);
/* Unmount it and drop its reference; success when it is not mounted. */
gboolean image_volume_unmount(ImageStore *store, const char *image_id,
			      const char *container_dir, guint index,
			      GError **error);

/* --- usage -------------------------------------------------------------- */

/* Bytes and inodes the store occupies, as measured after the last change
 * (out->mountpoint is a new copy; clear with image_fs_usage_clear). */
void image_store_usage(ImageStore *store, ImageFsUsage *out);
