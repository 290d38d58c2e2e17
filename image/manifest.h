/* Registry documents as domain structs: OCI image indexes and manifests,
 * Docker schema 2 manifest lists and manifests, and image configs. Every
 * field is checked on the way in; callers may trust what they get. */
#pragma once

#include <glib.h>

#define IMAGE_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMAGE_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMAGE_MEDIA_DOCKER_LIST                                                \
	"application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGE_MEDIA_DOCKER_MANIFEST                                            \
	"application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MEDIA_DOCKER_CONFIG                                              \
	"application/vnd.docker.container.image.v1+json"
#define IMAGE_MEDIA_DOCKER_SCHEMA1                                             \
	"application/vnd.docker.distribution.manifest.v1+json"
#define IMAGE_MEDIA_DOCKER_SCHEMA1_SIGNED                                      \
	"application/vnd.docker.distribution.manifest.v1+prettyjws"

/* Manifests and indexes bigger than this are refused (the distribution
 * spec's suggested client limit); configs get IMAGE_CONFIG_MAX_SIZE. */
#define IMAGE_MANIFEST_MAX_SIZE (4 * 1024 * 1024)
#define IMAGE_CONFIG_MAX_SIZE (8 * 1024 * 1024)
/* Layers in one manifest: a pull gives each layer to fetch a pipe and an
 * importer thread at once, and flattens them all; real images have far
 * fewer (Docker's overlay2 stops at 125). */
#define IMAGE_MANIFEST_MAX_LAYERS 1000

typedef enum {
	IMAGE_MANIFEST_UNKNOWN = 0,
	IMAGE_MANIFEST_OCI_INDEX,
	IMAGE_MANIFEST_OCI_MANIFEST,
	IMAGE_MANIFEST_DOCKER_LIST,
	IMAGE_MANIFEST_DOCKER_MANIFEST,
} ImageManifestKind;

typedef enum {
	IMAGE_COMPRESSION_NONE,
	IMAGE_COMPRESSION_GZIP,
	IMAGE_COMPRESSION_ZSTD,
} ImageCompression;

/* What the client puts in Accept when fetching a manifest: every kind
 * above, indexes first. */
const char *image_manifest_accept_header(void);

/* Which kind body is. The body's own mediaType wins; without one the
 * Content-Type (may be NULL, parameters ignored) decides; without either a
 * known type, the shape does (OCI allows mediaType to be absent).
 * Schema 1 manifests are FAILED_PRECONDITION; anything else unusable is
 * INVALID_ARGUMENT. */
gboolean image_manifest_detect(const char *body, gsize len,
			       const char *content_type,
			       ImageManifestKind *kind, GError **error);

gboolean image_manifest_kind_is_index(ImageManifestKind kind);
const char *image_manifest_kind_media_type(ImageManifestKind kind);

typedef struct {
	char *media_type;
	char *digest;
	gint64 size;
	char **urls; /* NULL-terminated; NULL when there are none */
} ImageDescriptor;

typedef struct {
	ImageDescriptor desc;
	ImageCompression compression;
	/* OCI non-distributable or Docker foreign layer: a registry may not
	 * hold it, desc.urls says where it lives. */
	gboolean non_distributable;
} ImageLayer;

typedef struct {
	ImageDescriptor desc; /* an image manifest (or a nested index) */
	char *os;	      /* platform; all NULL when absent */
	char *architecture;
	char *variant;
} ImageIndexEntry;

typedef struct {
	ImageManifestKind kind;
	GPtrArray *manifests; /* ImageIndexEntry* */
} ImageIndex;

typedef struct {
	ImageManifestKind kind;
	ImageDescriptor config;
	GPtrArray *layers; /* ImageLayer* */
} ImageManifest;

/* Parse an index or manifest list (detected as above). INVALID_ARGUMENT
 * when it is some other kind or any field is malformed. */
gboolean image_index_parse(const char *body, gsize len,
			   const char *content_type, ImageIndex **out,
			   GError **error);
/* Parse an image manifest; the same rules. */
gboolean image_manifest_parse(const char *body, gsize len,
			      const char *content_type, ImageManifest **out,
			      GError **error);

void image_index_free(ImageIndex *index);
void image_manifest_free(ImageManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageIndex, image_index_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageManifest, image_manifest_free)

/* Normalise a platform the way indexes are written: architecture aliases
 * (x86_64 → amd64, aarch64 → arm64, ...) and default variants (arm64 → v8,
 * arm → v7, amd64 → v1) applied. Results point to static strings or into
 * the arguments; *n_variant is NULL when there is none. */
void image_platform_normalize(const char *os, const char *arch,
			      const char *variant, const char **n_os,
			      const char **n_arch, const char **n_variant);

/* The platform this binary was built for, normalised. */
void image_platform_host(const char **os, const char **arch,
			 const char **variant);

/* Pick the image manifest for os/arch/variant (variant may be NULL for the
 * architecture's default). An exact variant wins, then the nearest older
 * compatible one (arm v7 runs v6 and v5; amd64 v3 runs v2 and v1).
 * Entries for other platforms or with unknown media types are skipped; a
 * lone entry without a platform is taken. NOT_FOUND naming the platforms
 * on offer when none fits. */
const ImageIndexEntry *image_index_select(const ImageIndex *index,
					  const char *os, const char *arch,
					  const char *variant, GError **error);

typedef struct {
	char *architecture;
	char *os;
	char *variant;	      /* NULL when absent */
	char *created;	      /* as written (RFC 3339); NULL when absent */
	gint64 created_unix;  /* seconds since the epoch; 0 when absent */
	char *user;	      /* NULL when absent or empty */
	char **env;	      /* NULL-terminated, never NULL */
	char **entrypoint;    /* NULL-terminated, never NULL */
	char **cmd;	      /* NULL-terminated, never NULL */
	char *working_dir;    /* NULL when absent or empty */
	char *stop_signal;    /* NULL when absent or empty */
	GHashTable *labels;   /* char* → char*, never NULL */
	char **exposed_ports; /* keys ("80/tcp"), sorted, never NULL */
	char **volumes;	      /* keys (paths), sorted, never NULL */
	char **diff_ids;      /* rootfs.diff_ids, never NULL */
	guint history_count;  /* history entries, empty_layer ones too */
} ImageConfig;

/* Parse an image config blob (OCI or Docker, which share the layout).
 * INVALID_ARGUMENT for any malformed field. */
gboolean image_config_parse(const char *body, gsize len, ImageConfig **out,
			    GError **error);
void image_config_free(ImageConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageConfig, image_config_free)

/* The manifest and its config describe the same layers: one diff_id per
 * layer. INVALID_ARGUMENT otherwise. */
gboolean image_manifest_check_config(const ImageManifest *manifest,
				     const ImageConfig *config, GError **error);
