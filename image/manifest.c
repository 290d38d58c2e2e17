/* Manifest kind detection, descriptors, and the index and manifest
 * parsers. Platform choice is in platform.c, image configs in config.c. */
#include "image/manifest.h"

#include <string.h>

#include "image/digest.h"
#include "image/json.h"
#include "util/error.h"

static const struct {
	const char *type;
	ImageManifestKind kind;
} manifest_types[] = {
	{IMAGE_MEDIA_OCI_INDEX, IMAGE_MANIFEST_OCI_INDEX},
	{IMAGE_MEDIA_OCI_MANIFEST, IMAGE_MANIFEST_OCI_MANIFEST},
	{IMAGE_MEDIA_DOCKER_LIST, IMAGE_MANIFEST_DOCKER_LIST},
	{IMAGE_MEDIA_DOCKER_MANIFEST, IMAGE_MANIFEST_DOCKER_MANIFEST},
};

static const struct {
	const char *type;
	ImageCompression compression;
	gboolean non_distributable;
} layer_types[] = {
	{"application/vnd.oci.image.layer.v1.tar", IMAGE_COMPRESSION_NONE,
	 FALSE},
	{"application/vnd.oci.image.layer.v1.tar+gzip", IMAGE_COMPRESSION_GZIP,
	 FALSE},
	{"application/vnd.oci.image.layer.v1.tar+zstd", IMAGE_COMPRESSION_ZSTD,
	 FALSE},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar",
	 IMAGE_COMPRESSION_NONE, TRUE},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
	 IMAGE_COMPRESSION_GZIP, TRUE},
	{"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
	 IMAGE_COMPRESSION_ZSTD, TRUE},
	{"application/vnd.docker.image.rootfs.diff.tar", IMAGE_COMPRESSION_NONE,
	 FALSE},
	{"application/vnd.docker.image.rootfs.diff.tar.gzip",
	 IMAGE_COMPRESSION_GZIP, FALSE},
	{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	 IMAGE_COMPRESSION_GZIP, TRUE},
};

const char *image_manifest_accept_header(void)
{
	return IMAGE_MEDIA_OCI_INDEX ", " IMAGE_MEDIA_DOCKER_LIST
				     ", " IMAGE_MEDIA_OCI_MANIFEST
				     ", " IMAGE_MEDIA_DOCKER_MANIFEST;
}

static ImageManifestKind manifest_kind_of_type(const char *type)
{
	for (gsize i = 0; type && i < G_N_ELEMENTS(manifest_types); i++)
		if (strcmp(type, manifest_types[i].type) == 0)
			return manifest_types[i].kind;
	return IMAGE_MANIFEST_UNKNOWN;
}

const char *image_manifest_kind_media_type(ImageManifestKind kind)
{
	for (gsize i = 0; i < G_N_ELEMENTS(manifest_types); i++)
		if (manifest_types[i].kind == kind)
			return manifest_types[i].type;
	return NULL;
}

gboolean image_manifest_kind_is_index(ImageManifestKind kind)
{
	return kind == IMAGE_MANIFEST_OCI_INDEX ||
	       kind == IMAGE_MANIFEST_DOCKER_LIST;
}

static gboolean manifest_is_schema1_type(const char *type)
{
	return type != NULL &&
	       (strcmp(type, IMAGE_MEDIA_DOCKER_SCHEMA1) == 0 ||
		strcmp(type, IMAGE_MEDIA_DOCKER_SCHEMA1_SIGNED) == 0);
}

/* "Type/Sub; charset=x" → "type/sub"; NULL for NULL or empty. */
static char *manifest_content_type(const char *content_type)
{
	if (content_type == NULL)
		return NULL;
	const char *semi = strchr(content_type, ';');
	g_autofree char *t = semi ? g_strndup(content_type, semi - content_type)
				  : g_strdup(content_type);
	g_strstrip(t);
	if (*t == '\0')
		return NULL;
	return g_ascii_strdown(t, -1);
}

static gboolean manifest_schema1_error(GError **error)
{
	return berth_throw(error, FAILED_PRECONDITION,
			   "Docker schema 1 manifests are not supported; "
			   "push the image again with a current client");
}

static gboolean manifest_check_schema_version(json_t *root, GError **error)
{
	json_t *v = json_object_get(root, "schemaVersion");
	if (!json_is_integer(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"schemaVersion\" must be an "
				   "integer");
	if (json_integer_value(v) == 1)
		return manifest_schema1_error(error);
	if (json_integer_value(v) != 2)
		return berth_throw(
			error, INVALID_ARGUMENT,
			"unsupported schemaVersion %" JSON_INTEGER_FORMAT,
			json_integer_value(v));
	return TRUE;
}

/* Without a known media type, OCI documents are told apart by shape. */
static gboolean manifest_kind_by_shape(json_t *root, ImageManifestKind *kind,
				       GError **error)
{
	if (json_object_get(root, "manifests") != NULL)
		*kind = IMAGE_MANIFEST_OCI_INDEX;
	else if (json_object_get(root, "config") != NULL &&
		 json_object_get(root, "layers") != NULL)
		*kind = IMAGE_MANIFEST_OCI_MANIFEST;
	else
		return berth_throw(error, INVALID_ARGUMENT,
				   "neither an image index nor an image "
				   "manifest (no mediaType, no \"manifests\" "
				   "or \"config\" and \"layers\")");
	return TRUE;
}

static gboolean manifest_detect_json(json_t *root, const char *content_type,
				     ImageManifestKind *kind, GError **error)
{
	g_autofree char *ct = manifest_content_type(content_type);
	const char *mt;
	if (!image_json_string(root, "mediaType", FALSE, &mt, error))
		return FALSE;
	if (manifest_is_schema1_type(mt) || manifest_is_schema1_type(ct) ||
	    json_object_get(root, "fsLayers") != NULL)
		return manifest_schema1_error(error);
	if (!manifest_check_schema_version(root, error))
		return FALSE;
	ImageManifestKind ct_kind = manifest_kind_of_type(ct);
	if (mt == NULL && ct_kind != IMAGE_MANIFEST_UNKNOWN) {
		*kind = ct_kind;
		return TRUE;
	}
	if (mt == NULL)
		return manifest_kind_by_shape(root, kind, error);
	*kind = manifest_kind_of_type(mt);
	if (*kind == IMAGE_MANIFEST_UNKNOWN)
		return berth_throw(error, INVALID_ARGUMENT,
				   "unsupported manifest media type \"%s\"",
				   mt);
	if (ct_kind != IMAGE_MANIFEST_UNKNOWN && ct_kind != *kind)
		return berth_throw(error, INVALID_ARGUMENT,
				   "mediaType \"%s\" does not match "
				   "Content-Type \"%s\"",
				   mt, ct);
	return TRUE;
}

static json_t *manifest_load(const char *body, gsize len,
			     const char *content_type, ImageManifestKind *kind,
			     GError **error)
{
	g_autoptr(json_t) root = image_json_load(
		body, len, IMAGE_MANIFEST_MAX_SIZE, "manifest", error);
	if (root == NULL)
		return NULL;
	if (!manifest_detect_json(root, content_type, kind, error)) {
		g_prefix_error(error, "manifest: ");
		return NULL;
	}
	return g_steal_pointer(&root);
}

gboolean image_manifest_detect(const char *body, gsize len,
			       const char *content_type,
			       ImageManifestKind *kind, GError **error)
{
	g_autoptr(json_t) root =
		manifest_load(body, len, content_type, kind, error);
	return root != NULL;
}

/* RFC 6838 names: restricted-name "/" restricted-name. */
static gboolean manifest_media_type_ok(const char *t)
{
	const char *slash = strchr(t, '/');
	if (slash == NULL)
		return FALSE;
	for (int part = 0; part < 2; part++) {
		const char *p = part ? slash + 1 : t;
		const char *end = part ? t + strlen(t) : slash;
		if (end - p < 1 || end - p > 127 || !g_ascii_isalnum(*p))
			return FALSE;
		for (p++; p < end; p++)
			if (!g_ascii_isalnum(*p) &&
			    strchr("!#$&^_.+-", *p) == NULL)
				return FALSE;
	}
	return TRUE;
}

static gboolean manifest_parse_urls(json_t *obj, char ***out, GError **error)
{
	g_auto(GStrv) urls = NULL;
	if (!image_json_strv(obj, "urls", &urls, error))
		return FALSE;
	for (char **u = urls; *u; u++)
		if (!g_str_has_prefix(*u, "http://") &&
		    !g_str_has_prefix(*u, "https://"))
			return berth_throw(error, INVALID_ARGUMENT,
					   "field \"urls\": \"%s\" is not an "
					   "http(s) URL",
					   *u);
	*out = urls[0] ? g_steal_pointer(&urls) : NULL;
	return TRUE;
}

static gboolean manifest_parse_descriptor(json_t *obj, ImageDescriptor *d,
					  GError **error)
{
	const char *media_type, *digest;
	g_autoptr(GHashTable) annotations = NULL;
	if (!json_is_object(obj))
		return berth_throw(error, INVALID_ARGUMENT,
				   "descriptor must be an object");
	if (!image_json_string(obj, "mediaType", TRUE, &media_type, error) ||
	    !image_json_string(obj, "digest", TRUE, &digest, error) ||
	    !image_json_size(obj, "size", &d->size, error) ||
	    !image_json_string_map(obj, "annotations", &annotations, error))
		return FALSE;
	if (!manifest_media_type_ok(media_type))
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid mediaType \"%s\"", media_type);
	if (!digest_validate(digest, error))
		return FALSE;
	d->media_type = g_strdup(media_type);
	d->digest = g_strdup(digest);
	return manifest_parse_urls(obj, &d->urls, error);
}

static void manifest_descriptor_clear(ImageDescriptor *d)
{
	g_free(d->media_type);
	g_free(d->digest);
	g_strfreev(d->urls);
}

static void manifest_index_entry_free(ImageIndexEntry *e)
{
	manifest_descriptor_clear(&e->desc);
	g_free(e->os);
	g_free(e->architecture);
	g_free(e->variant);
	g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageIndexEntry, manifest_index_entry_free)

static void manifest_layer_free(ImageLayer *l)
{
	manifest_descriptor_clear(&l->desc);
	g_free(l);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageLayer, manifest_layer_free)

static gboolean manifest_parse_platform(json_t *entry, ImageIndexEntry *e,
					GError **error)
{
	json_t *p;
	const char *os, *arch, *variant, *os_version;
	g_auto(GStrv) features = NULL;
	if (!image_json_object(entry, "platform", FALSE, &p, error))
		return FALSE;
	if (p == NULL)
		return TRUE;
	if (!image_json_string(p, "os", TRUE, &os, error) ||
	    !image_json_string(p, "architecture", TRUE, &arch, error) ||
	    !image_json_string(p, "variant", FALSE, &variant, error) ||
	    !image_json_string(p, "os.version", FALSE, &os_version, error) ||
	    !image_json_strv(p, "os.features", &features, error)) {
		g_prefix_error(error, "platform: ");
		return FALSE;
	}
	if (*os == '\0' || *arch == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "platform: empty os or architecture");
	e->os = g_strdup(os);
	e->architecture = g_strdup(arch);
	e->variant = variant && *variant ? g_strdup(variant) : NULL;
	return TRUE;
}

static gboolean manifest_parse_entries(json_t *arr, GPtrArray *out,
				       GError **error)
{
	for (gsize i = 0; i < json_array_size(arr); i++) {
		json_t *obj = json_array_get(arr, i);
		g_autoptr(ImageIndexEntry) e = g_new0(ImageIndexEntry, 1);
		if (!manifest_parse_descriptor(obj, &e->desc, error) ||
		    !manifest_parse_platform(obj, e, error)) {
			g_prefix_error(error, "manifests[%zu]: ", i);
			return FALSE;
		}
		g_ptr_array_add(out, g_steal_pointer(&e));
	}
	return TRUE;
}

gboolean image_index_parse(const char *body, gsize len,
			   const char *content_type, ImageIndex **out,
			   GError **error)
{
	ImageManifestKind kind;
	json_t *arr;
	g_autoptr(json_t) root =
		manifest_load(body, len, content_type, &kind, error);
	if (root == NULL)
		return FALSE;
	if (!image_manifest_kind_is_index(kind))
		return berth_throw(error, INVALID_ARGUMENT,
				   "index: got an image manifest (%s)",
				   image_manifest_kind_media_type(kind));
	g_autoptr(ImageIndex) index = g_new0(ImageIndex, 1);
	index->kind = kind;
	index->manifests = g_ptr_array_new_with_free_func(
		(GDestroyNotify)manifest_index_entry_free);
	if (!image_json_array(root, "manifests", TRUE, &arr, error) ||
	    !manifest_parse_entries(arr, index->manifests, error)) {
		g_prefix_error(error, "index: ");
		return FALSE;
	}
	*out = g_steal_pointer(&index);
	return TRUE;
}

static gboolean manifest_parse_layer_type(ImageLayer *l, GError **error)
{
	for (gsize i = 0; i < G_N_ELEMENTS(layer_types); i++) {
		if (strcmp(l->desc.media_type, layer_types[i].type) == 0) {
			l->compression = layer_types[i].compression;
			l->non_distributable = layer_types[i].non_distributable;
			return TRUE;
		}
	}
	return berth_throw(error, INVALID_ARGUMENT,
			   "unsupported layer media type \"%s\"",
			   l->desc.media_type);
}

static gboolean manifest_parse_layers(json_t *arr, GPtrArray *out,
				      GError **error)
{
	if (json_array_size(arr) > IMAGE_MANIFEST_MAX_LAYERS)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%zu layers: more than %d layers",
				   json_array_size(arr),
				   IMAGE_MANIFEST_MAX_LAYERS);
	for (gsize i = 0; i < json_array_size(arr); i++) {
		g_autoptr(ImageLayer) l = g_new0(ImageLayer, 1);
		if (!manifest_parse_descriptor(json_array_get(arr, i), &l->desc,
					       error) ||
		    !manifest_parse_layer_type(l, error)) {
			g_prefix_error(error, "layers[%zu]: ", i);
			return FALSE;
		}
		g_ptr_array_add(out, g_steal_pointer(&l));
	}
	return TRUE;
}

static gboolean manifest_parse_config_desc(json_t *root, ImageDescriptor *d,
					   GError **error)
{
	json_t *obj;
	if (!image_json_object(root, "config", TRUE, &obj, error) ||
	    !manifest_parse_descriptor(obj, d, error)) {
		g_prefix_error(error, "config: ");
		return FALSE;
	}
	if (strcmp(d->media_type, IMAGE_MEDIA_OCI_CONFIG) != 0 &&
	    strcmp(d->media_type, IMAGE_MEDIA_DOCKER_CONFIG) != 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "not a container image: config media type "
				   "\"%s\"",
				   d->media_type);
	return TRUE;
}

gboolean image_manifest_parse(const char *body, gsize len,
			      const char *content_type, ImageManifest **out,
			      GError **error)
{
	ImageManifestKind kind;
	json_t *arr;
	g_autoptr(json_t) root =
		manifest_load(body, len, content_type, &kind, error);
	if (root == NULL)
		return FALSE;
	if (image_manifest_kind_is_index(kind))
		return berth_throw(error, INVALID_ARGUMENT,
				   "manifest: got an index (%s)",
				   image_manifest_kind_media_type(kind));
	g_autoptr(ImageManifest) m = g_new0(ImageManifest, 1);
	m->kind = kind;
	m->layers = g_ptr_array_new_with_free_func(
		(GDestroyNotify)manifest_layer_free);
	if (!manifest_parse_config_desc(root, &m->config, error) ||
	    !image_json_array(root, "layers", TRUE, &arr, error) ||
	    !manifest_parse_layers(arr, m->layers, error)) {
		g_prefix_error(error, "manifest: ");
		return FALSE;
	}
	*out = g_steal_pointer(&m);
	return TRUE;
}

gboolean image_manifest_check_config(const ImageManifest *manifest,
				     const ImageConfig *config, GError **error)
{
	guint n = g_strv_length(config->diff_ids);
	if (manifest->layers->len != n)
		return berth_throw(error, INVALID_ARGUMENT,
				   "manifest has %u layers but its config "
				   "lists %u diff_ids",
				   manifest->layers->len, n);
	return TRUE;
}

void image_index_free(ImageIndex *index)
{
	if (index == NULL)
		return;
	if (index->manifests)
		g_ptr_array_unref(index->manifests);
	g_free(index);
}

void image_manifest_free(ImageManifest *manifest)
{
	if (manifest == NULL)
		return;
	manifest_descriptor_clear(&manifest->config);
	if (manifest->layers)
		g_ptr_array_unref(manifest->layers);
	g_free(manifest);
}
