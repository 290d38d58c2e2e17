/* Inside the image store: the ImageStore struct, its locks, and the
 * functions the store's files (store.c, store-image.c, meta.c, layer.c,
 * flatten.c, rootfs.c) share. Nothing outside image/ includes this, bar
 * the store's unit tests.
 *
 * Lock order, outermost first: repo use (image_store_repo_enter) →
 * op_lock → index_lock / layers_mu / checkouts_mu / usage_mu. */
#pragma once

#include "image/store.h"

#include <ostree.h>

#define STORE_LAYER_REF_PREFIX "berth/layer/"
#define STORE_IMAGE_REF_PREFIX "berth/image/"

/* Commit metadata keys of a layer commit. */
#define STORE_META_DIFF_ID "berth.diff-id"	       /* s */
#define STORE_META_SIZE "berth.size"		       /* t: tar bytes */
#define STORE_META_IMPLICIT "berth.implicit-dirs"      /* as */
#define STORE_META_LOWER_LINKS "berth.lower-hardlinks" /* a(ss) */
/* ... and of an image commit. */
#define STORE_META_IMAGE_ID "berth.image-id" /* s */

typedef struct {
	ImageRecord *rec;
	guint64 generation; /* orders metadata writes across images */
} StoreImage;

/* A layer a pull has imported or found stored (has_layer) is "claimed"
 * until the pull commits its image, which consumes one claim; claims
 * lapse after the grace period (a pull that failed never commits). A
 * claimed layer is not pruned even when no image uses it yet. */
typedef struct {
	guint64 size;	   /* uncompressed tar bytes */
	guint claims;	   /* outstanding */
	gint64 claimed_us; /* monotonic time of the latest claim */
} StoreLayer;

typedef struct {
	guint users;	 /* references: checkouts taken, overlays mounted */
	gboolean ready;	 /* created; FALSE while one thread makes it */
	gboolean orphan; /* its image is gone: delete at the last release */
} StoreCheckout;

struct ImageStore {
	char *dir; /* absolute, symlinks resolved */
	char *repo_path;
	char *images_dir;
	char *checkouts_dir;

	/* images and names; readers: list, lookup; writers hold op_lock */
	GRWLock index_lock;
	GHashTable *images; /* id → StoreImage* */
	GHashTable *names;  /* tag or repo digest → id */
	guint64 generation; /* highest written */

	/* serialises commit_image and remove */
	GMutex op_lock;
	ImageInUseFunc in_use;
	void *in_use_data;

	/* ostree users vs prune: prune runs alone */
	GMutex repo_mu;
	GCond repo_cond;
	guint repo_users;
	gboolean pruning;
	gboolean prune_pending;

	GMutex layers_mu;
	GCond layers_cond;
	GHashTable *layers;    /* diff_id → StoreLayer* */
	GHashTable *importing; /* diff_id set: imports under way */
	gint64 layer_grace_us;
	guint imports_done; /* streams actually read (tests look) */

	GMutex checkouts_mu;
	GCond checkouts_cond;
	GHashTable *checkouts; /* hex → StoreCheckout* */

	GMutex usage_mu;
	ImageFsUsage usage;
};

/* --- store.c --------------------------------------------------------- */

/* A new OstreeRepo on the store's repo: one per operation, as OstreeRepo
 * objects are not safe to share between threads. */
OstreeRepo *image_store_repo_open(ImageStore *store, GError **error);
/* Bracket every use of ostree objects; a prune waits for all users and
 * runs when the last one leaves with a prune pending. */
void image_store_repo_enter(ImageStore *store);
void image_store_repo_leave(ImageStore *store);
void image_store_refresh_usage(ImageStore *store);
/* The hex part of a digest; NULL when it is not one. */
const char *image_store_hex(const char *digest);
/* Consume one claim on each layer (a commit used them). */
void image_store_unclaim_layers(ImageStore *store, char *const *diff_ids);
/* Look up a record by exact id or name; index_lock held by the caller. */
StoreImage *image_store_find_locked(ImageStore *store, const char *name);

/* --- meta.c ------------------------------------------------------------ */

/* A copy, with or without the config JSON (list copies skip it). */
ImageRecord *image_meta_copy(const ImageRecord *rec, gboolean with_config);
/* Check a record from a caller: digests, names, config digest. */
gboolean image_meta_validate(const ImageRecord *rec, GError **error);
/* Serialise and parse the images/<hex>.json document. */
char *image_meta_to_json(const ImageRecord *rec, guint64 generation);
ImageRecord *image_meta_from_json(const char *body, gsize len,
				  guint64 *generation, GError **error);
/* Write images/<hex>.json atomically. */
gboolean image_meta_save(ImageStore *store, const ImageRecord *rec,
			 guint64 generation, GError **error);
/* Remove images/<hex>.json durably; success when absent. */
gboolean image_meta_delete(ImageStore *store, const char *id, GError **error);
/* strv helpers: a copy with s appended unless present, or removed. */
char **image_meta_strv_add(char **v, const char *s);
char **image_meta_strv_remove(char **v, const char *s);

/* --- layer.c ----------------------------------------------------------- */

/* Import one layer stream into its own commit, ref berth/layer/<hex>.
 * *size_out gets the tar's byte count. */
gboolean image_layer_import(ImageStore *store, const char *diff_id, int fd,
			    guint64 *size_out, GError **error);
char *image_layer_ref(const char *diff_id);
/* Write a dirmeta object; its checksum. mode's type bits are ignored. */
char *image_layer_write_dirmeta(OstreeRepo *repo, guint32 uid, guint32 gid,
				guint32 mode, GVariant *xattrs, GError **error);

/* --- flatten.c --------------------------------------------------------- */

/* Flatten the layers (bottom first) into one commit under
 * berth/image/<hex of id>, in one transaction. */
gboolean image_flatten_commit(ImageStore *store, const char *id,
			      char *const *diff_ids, GError **error);
char *image_flatten_ref(const char *id);

/* --- volume.c ---------------------------------------------------------- */

/* Image volumes live in this directory of a container's dir; the
 * checkout's hex a volume's mount point names, else NULL. */
#define IMAGE_VOLUMES_DIR "image-volumes"
const char *image_volume_hex_of(const char *mount_point);

/* --- rootfs.c ---------------------------------------------------------- */

/* At open: remove tmp and orphan checkouts, count the overlay mounts and
 * image volumes still using the others, make sure they are mounted
 * read-only. */
gboolean image_checkout_recover(ImageStore *store, GError **error);
/* The image is being removed: delete its checkout now, or at the last
 * release when containers still use it. */
void image_checkout_forget(ImageStore *store, const char *id);
