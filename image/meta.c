/* Image records: copies, checks, and the images/<hex>.json document that
 * keeps one across restarts (written atomically, read back at open). */
#include "image/digest.h"
#include "image/json.h"
#include "image/manifest.h"
#include "image/store-private.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Metadata files bigger than this are refused at load: the config is
 * capped at IMAGE_CONFIG_MAX_SIZE, the rest is small. */
#define META_MAX_SIZE (16 * 1024 * 1024)

static char **strv_copy0(char **v)
{
	return v != NULL ? g_strdupv(v) : g_new0(char *, 1);
}

static GHashTable *annotations_copy(GHashTable *src)
{
	GHashTable *t =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	if (src == NULL)
		return t;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, src);
	while (g_hash_table_iter_next(&it, &k, &v))
		g_hash_table_insert(t, g_strdup(k), g_strdup(v));
	return t;
}

ImageRecord *image_record_copy(const ImageRecord *rec)
{
	return image_meta_copy(rec, TRUE);
}

ImageRecord *image_meta_copy(const ImageRecord *rec, gboolean with_config)
{
	ImageRecord *c = g_new0(ImageRecord, 1);
	c->id = g_strdup(rec->id);
	c->repo_tags = strv_copy0(rec->repo_tags);
	c->repo_digests = strv_copy0(rec->repo_digests);
	c->manifest_digest = g_strdup(rec->manifest_digest);
	c->diff_ids = strv_copy0(rec->diff_ids);
	c->size = rec->size;
	c->config_json = with_config ? g_strdup(rec->config_json) : NULL;
	c->user = g_strdup(rec->user);
	c->annotations = annotations_copy(rec->annotations);
	c->pinned = rec->pinned;
	c->created_ns = rec->created_ns;
	return c;
}

void image_record_free(ImageRecord *rec)
{
	if (rec == NULL)
		return;
	g_free(rec->id);
	g_strfreev(rec->repo_tags);
	g_strfreev(rec->repo_digests);
	g_free(rec->manifest_digest);
	g_strfreev(rec->diff_ids);
	g_free(rec->config_json);
	g_free(rec->user);
	if (rec->annotations != NULL)
		g_hash_table_unref(rec->annotations);
	g_free(rec);
}

char **image_meta_strv_add(char **v, const char *s)
{
	if (v != NULL && g_strv_contains((const char *const *)v, s))
		return g_strdupv(v);
	guint n = v != NULL ? g_strv_length(v) : 0;
	char **r = g_new0(char *, n + 2);
	for (guint i = 0; i < n; i++)
		r[i] = g_strdup(v[i]);
	r[n] = g_strdup(s);
	return r;
}

char **image_meta_strv_remove(char **v, const char *s)
{
	guint n = v != NULL ? g_strv_length(v) : 0;
	char **r = g_new0(char *, n + 1);
	guint j = 0;
	for (guint i = 0; i < n; i++) {
		if (strcmp(v[i], s) != 0)
			r[j++] = g_strdup(v[i]);
	}
	return r;
}

/* A tag is "repo:tag" with the colon after the last '/', a repo digest
 * "repo@digest"; the caller has normalised both, we only check shape. */
static gboolean meta_check_name(const char *name, gboolean digest,
				GError **error)
{
	if (name == NULL || *name == '\0' || strlen(name) > 1024 ||
	    !g_utf8_validate(name, -1, NULL))
		return berth_throw(error, INVALID_ARGUMENT,
				   "empty or oversized image name");
	const char *at = strchr(name, '@');
	if (digest) {
		if (at == NULL || at == name || !digest_is_valid(at + 1))
			return berth_throw(error, INVALID_ARGUMENT,
					   "repo digest %s: not repo@digest",
					   name);
		return TRUE;
	}
	const char *slash = strrchr(name, '/');
	const char *colon = strrchr(name, ':');
	if (at != NULL || colon == NULL || (slash != NULL && colon < slash) ||
	    colon == name || colon[1] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "tag %s: not repo:tag", name);
	return TRUE;
}

/* jansson stores only UTF-8: anything else would vanish from the file. */
static gboolean meta_check_utf8(const ImageRecord *rec, GError **error)
{
	const char *single[] = {rec->config_json, rec->user};
	for (gsize i = 0; i < G_N_ELEMENTS(single); i++) {
		if (single[i] != NULL && !g_utf8_validate(single[i], -1, NULL))
			return berth_throw(error, INVALID_ARGUMENT,
					   "image %s: text is not UTF-8",
					   rec->id);
	}
	if (rec->annotations == NULL)
		return TRUE;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, rec->annotations);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (!g_utf8_validate(k, -1, NULL) ||
		    !g_utf8_validate(v, -1, NULL))
			return berth_throw(error, INVALID_ARGUMENT,
					   "image %s: annotation is not UTF-8",
					   rec->id);
	}
	return TRUE;
}

static gboolean meta_check_config(const ImageRecord *rec, GError **error)
{
	if (rec->config_json == NULL)
		return TRUE;
	DigestAlgorithm algo;
	if (!digest_parse(rec->id, &algo, NULL, error))
		return FALSE;
	g_autofree char *got = digest_compute(algo, rec->config_json,
					      strlen(rec->config_json));
	if (strcmp(got, rec->id) != 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "image %s: config hashes to %s", rec->id,
				   got);
	g_autoptr(ImageConfig) config = NULL;
	if (!image_config_parse(rec->config_json, strlen(rec->config_json),
				&config, error)) {
		g_prefix_error(error, "image %s: ", rec->id);
		return FALSE;
	}
	guint n = rec->diff_ids != NULL ? g_strv_length(rec->diff_ids) : 0;
	gboolean same = n == g_strv_length(config->diff_ids);
	for (guint i = 0; same && i < n; i++)
		same = strcmp(rec->diff_ids[i], config->diff_ids[i]) == 0;
	if (!same)
		return berth_throw(
			error, INVALID_ARGUMENT,
			"image %s: diff_ids differ from the config's", rec->id);
	return TRUE;
}

gboolean image_meta_validate(const ImageRecord *rec, GError **error)
{
	if (rec->id == NULL)
		return berth_throw(error, INVALID_ARGUMENT, "image id missing");
	if (!digest_validate(rec->id, error)) {
		g_prefix_error(error, "image id: ");
		return FALSE;
	}
	for (char **p = rec->diff_ids; p != NULL && *p != NULL; p++) {
		if (!digest_validate(*p, error)) {
			g_prefix_error(error, "image %s: diff_id: ", rec->id);
			return FALSE;
		}
	}
	if (rec->manifest_digest != NULL &&
	    !digest_validate(rec->manifest_digest, error))
		return FALSE;
	for (char **p = rec->repo_tags; p != NULL && *p != NULL; p++) {
		if (!meta_check_name(*p, FALSE, error))
			return FALSE;
	}
	for (char **p = rec->repo_digests; p != NULL && *p != NULL; p++) {
		if (!meta_check_name(*p, TRUE, error))
			return FALSE;
	}
	return meta_check_utf8(rec, error) && meta_check_config(rec, error);
}

static json_t *strv_to_json(char **v)
{
	json_t *a = json_array();
	for (char **p = v; p != NULL && *p != NULL; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

static json_t *map_to_json(GHashTable *t)
{
	json_t *o = json_object();
	if (t == NULL)
		return o;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, t);
	while (g_hash_table_iter_next(&it, &k, &v))
		json_object_set_new(o, k, json_string(v));
	return o;
}

static void set_opt_string(json_t *o, const char *key, const char *value)
{
	if (value != NULL)
		json_object_set_new(o, key, json_string(value));
}

char *image_meta_to_json(const ImageRecord *rec, guint64 generation)
{
	g_autoptr(json_t) o = json_object();
	json_object_set_new(o, "id", json_string(rec->id));
	json_object_set_new(o, "repo_tags", strv_to_json(rec->repo_tags));
	json_object_set_new(o, "repo_digests", strv_to_json(rec->repo_digests));
	set_opt_string(o, "manifest_digest", rec->manifest_digest);
	json_object_set_new(o, "diff_ids", strv_to_json(rec->diff_ids));
	json_object_set_new(o, "size", json_integer((json_int_t)rec->size));
	set_opt_string(o, "config", rec->config_json);
	set_opt_string(o, "user", rec->user);
	json_object_set_new(o, "annotations", map_to_json(rec->annotations));
	json_object_set_new(o, "pinned", json_boolean(rec->pinned));
	json_object_set_new(o, "created_ns", json_integer(rec->created_ns));
	json_object_set_new(o, "generation",
			    json_integer((json_int_t)generation));
	return json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
}

static gboolean json_get_dup(json_t *o, const char *key, gboolean required,
			     char **out, GError **error)
{
	const char *s = NULL;
	if (!image_json_string(o, key, required, &s, error))
		return FALSE;
	*out = g_strdup(s);
	return TRUE;
}

static gboolean meta_read_fields(json_t *o, ImageRecord *rec,
				 guint64 *generation, GError **error)
{
	gint64 size = 0, created = 0, gen = 0;
	if (!json_get_dup(o, "id", TRUE, &rec->id, error) ||
	    !image_json_strv(o, "repo_tags", &rec->repo_tags, error) ||
	    !image_json_strv(o, "repo_digests", &rec->repo_digests, error) ||
	    !json_get_dup(o, "manifest_digest", FALSE, &rec->manifest_digest,
			  error) ||
	    !image_json_strv(o, "diff_ids", &rec->diff_ids, error) ||
	    !image_json_size(o, "size", &size, error) ||
	    !json_get_dup(o, "config", FALSE, &rec->config_json, error) ||
	    !json_get_dup(o, "user", FALSE, &rec->user, error) ||
	    !image_json_string_map(o, "annotations", &rec->annotations,
				   error) ||
	    !image_json_size(o, "created_ns", &created, error) ||
	    !image_json_size(o, "generation", &gen, error))
		return FALSE;
	json_t *pinned = json_object_get(o, "pinned");
	rec->pinned = pinned != NULL && json_is_true(pinned);
	rec->size = (guint64)size;
	rec->created_ns = created;
	*generation = (guint64)gen;
	return TRUE;
}

ImageRecord *image_meta_from_json(const char *body, gsize len,
				  guint64 *generation, GError **error)
{
	g_autoptr(json_t) o = image_json_load(body, len, META_MAX_SIZE,
					      "image metadata", error);
	if (o == NULL)
		return NULL;
	g_autoptr(ImageRecord) rec = g_new0(ImageRecord, 1);
	if (!meta_read_fields(o, rec, generation, error) ||
	    !image_meta_validate(rec, error))
		return NULL;
	return g_steal_pointer(&rec);
}

static char *meta_path(ImageStore *store, const char *id)
{
	g_autofree char *name = g_strdup_printf("%s.json", image_store_hex(id));
	return g_build_filename(store->images_dir, name, NULL);
}

gboolean image_meta_save(ImageStore *store, const ImageRecord *rec,
			 guint64 generation, GError **error)
{
	g_autofree char *path = meta_path(store, rec->id);
	g_autofree char *body = image_meta_to_json(rec, generation);
	if (body == NULL)
		return berth_throw(error, INTERNAL,
				   "image %s: cannot serialise metadata",
				   rec->id);
	return berth_write_file_atomic(path, body, strlen(body), 0600, error);
}

gboolean image_meta_delete(ImageStore *store, const char *id, GError **error)
{
	g_autofree char *path = meta_path(store, id);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", path);
	return berth_fsync_dir(store->images_dir, error);
}
