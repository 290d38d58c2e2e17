/* ImageService RPCs: PullImage, ListImages, StreamImages, ImageStatus,
 * RemoveImage, ImageFsInfo. Converts CRI messages to the image module's
 * calls and ImageRecord to CRI's Image; the work is in image/. */
#include "image/ref.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

#include <jansson.h>
#include <string.h>

/* --- request pieces ---------------------------------------------------------
 */

static const char *image_name(const Runtime__V1__ImageSpec *spec,
			      GError **error)
{
	if (spec == NULL || spec->image[0] == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"image.image is required");
	}
	return spec->image;
}

static gboolean check_handler(BerthServer *s, const char *handler,
			      GError **error)
{
	if (handler[0] == '\0' || oci_runtimes_get(s->runtimes, handler))
		return TRUE;
	return berth_throw(error, INVALID_ARGUMENT,
			   "unknown runtime handler \"%s\"", handler);
}

static gboolean call_cancelled(gpointer call)
{
	return cri_call_cancelled(call);
}

/* --- ImageRecord -> Image ------------------------------------------------ */

/* config.User is "user[:group]": a number is a uid, anything else a name;
 * none at all runs as root, so it is uid 0. */
static void image_user(CriCall *call, const char *user, Runtime__V1__Image *img)
{
	g_autofree char *name =
		user ? g_strndup(user, strcspn(user, ":")) : g_strdup("");
	guint64 uid = 0;
	if (name[0] == '\0' ||
	    g_ascii_string_to_unsigned(name, 10, 0, G_MAXUINT32, &uid, NULL)) {
		img->uid = reply_new(call, Runtime__V1__Int64Value,
				     runtime__v1__int64_value__init);
		img->uid->value = (gint64)uid;
	} else {
		img->username = reply_str(call, name);
	}
}

/* Pinned: recorded so, or named by the config's pinned_images (kubelet's
 * image GC then leaves it; RemoveImage still removes it). */
static gboolean image_pinned(BerthServer *s, const ImageRecord *r)
{
	char **pats = s->config->pinned_images;
	return r->pinned || image_ref_patterns_match_any(pats, r->repo_tags) ||
	       image_ref_patterns_match_any(pats, r->repo_digests);
}

static Runtime__V1__Image *image_reply(BerthServer *s, CriCall *call,
				       const ImageRecord *r)
{
	Runtime__V1__Image *img =
		reply_new(call, Runtime__V1__Image, runtime__v1__image__init);
	img->id = reply_str(call, r->id);
	img->repo_tags = reply_strv(call, r->repo_tags, &img->n_repo_tags);
	img->repo_digests =
		reply_strv(call, r->repo_digests, &img->n_repo_digests);
	img->size = r->size;
	image_user(call, r->user, img);
	img->spec = reply_new(call, Runtime__V1__ImageSpec,
			      runtime__v1__image_spec__init);
	img->spec->image = img->id;
	img->spec->annotations = reply_map_table(
		call, &runtime__v1__image_spec__annotations_entry__descriptor,
		r->annotations, &img->spec->n_annotations);
	img->pinned = image_pinned(s, r);
	return img;
}

static json_t *json_strv(char *const *v)
{
	json_t *a = json_array();
	for (char *const *p = v; p != NULL && *p != NULL; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

/* What `crictl inspecti` shows under "info": the image config as pulled
 * and where the store keeps the image. */
static char *image_verbose_info(BerthServer *s, const ImageRecord *r)
{
	json_t *config =
		r->config_json ? json_loads(r->config_json, 0, NULL) : NULL;
	g_autofree char *storage =
		g_build_filename(s->config->root, "storage", NULL);
	g_autofree char *ref =
		g_strconcat("berth/image/", strchr(r->id, ':') + 1, NULL);
	json_t *o = json_pack(
		"{s:s, s:o, s:o, s:s?, s:o, s:I, s:I, s:b, s:o?, s:{s:s, s:s}}",
		"id", r->id, "repoTags", json_strv(r->repo_tags), "repoDigests",
		json_strv(r->repo_digests), "manifestDigest",
		r->manifest_digest, "diffIDs", json_strv(r->diff_ids), "size",
		(json_int_t)r->size, "createdAt", (json_int_t)r->created_ns,
		"pinned", image_pinned(s, r), "imageSpec", config, "store",
		"path", storage, "ref", ref);
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static void image_status_info(BerthServer *s, CriCall *call,
			      const ImageRecord *r,
			      Runtime__V1__ImageStatusResponse *out)
{
	Runtime__V1__ImageStatusResponse__InfoEntry *e =
		reply_new(call, Runtime__V1__ImageStatusResponse__InfoEntry,
			  runtime__v1__image_status_response__info_entry__init);
	char *text = image_verbose_info(s, r);
	e->key = "info";
	e->value = reply_str(call, text);
	free(text);
	out->info = arena_new0(cri_call_arena(call),
			       Runtime__V1__ImageStatusResponse__InfoEntry *);
	out->info[0] = e;
	out->n_info = 1;
}

/* --- handlers ------------------------------------------------------------ */

BERTH_UNARY(server_pull_image)
{
	BerthServer *s = ctx;
	const Runtime__V1__PullImageRequest *in =
		(const Runtime__V1__PullImageRequest *)req;
	const char *name = image_name(in->image, error);
	if (name == NULL ||
	    !check_handler(s, in->image->runtime_handler, error))
		return NULL;
	const Runtime__V1__AuthConfig *a = in->auth;
	AuthConfig auth = {0};
	if (a != NULL)
		auth = (AuthConfig){a->username,       a->password,
				    a->auth,	       a->server_address,
				    a->identity_token, a->registry_token};
	ImagePullOptions o = {
		.auth = a != NULL ? &auth : NULL,
		.deadline = cri_call_deadline(call),
		.cancelled = call_cancelled,
		.cancel_data = call,
	};
	g_autofree char *id = image_pull(s->puller, name, &o, error);
	if (id == NULL)
		return NULL;
	Runtime__V1__PullImageResponse *r =
		reply_new(call, Runtime__V1__PullImageResponse,
			  runtime__v1__pull_image_response__init);
	r->image_ref = reply_str(call, id);
	return &r->base;
}

/* Look name up; an absent image is no error (*rec stays NULL), any
 * other failure is. */
static gboolean lookup_if_present(BerthServer *s, const char *name,
				  ImageRecord **rec, GError **error)
{
	g_autoptr(GError) err = NULL;
	*rec = image_puller_lookup(s->puller, name, &err);
	if (*rec == NULL &&
	    !g_error_matches(err, BERTH_ERROR, BERTH_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&err));
		return FALSE;
	}
	return TRUE;
}

/* The images a filter selects (ImageRecord*): all, or the one its name
 * resolves to. */
static GPtrArray *images_matching(BerthServer *s,
				  const Runtime__V1__ImageFilter *f,
				  GError **error)
{
	if (f == NULL || f->image == NULL || f->image->image[0] == '\0')
		return image_store_list(s->images);
	ImageRecord *rec = NULL;
	if (!lookup_if_present(s, f->image->image, &rec, error))
		return NULL;
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)image_record_free);
	if (rec != NULL)
		g_ptr_array_add(out, rec);
	return out;
}

BERTH_UNARY(server_list_images)
{
	BerthServer *s = ctx;
	const Runtime__V1__ListImagesRequest *in =
		(const Runtime__V1__ListImagesRequest *)req;
	g_autoptr(GPtrArray) recs = images_matching(s, in->filter, error);
	if (recs == NULL)
		return NULL;
	Runtime__V1__ListImagesResponse *r =
		reply_new(call, Runtime__V1__ListImagesResponse,
			  runtime__v1__list_images_response__init);
	r->images = arena_newv(cri_call_arena(call), Runtime__V1__Image *,
			       recs->len + 1);
	for (guint i = 0; i < recs->len; i++)
		r->images[r->n_images++] = image_reply(s, call, recs->pdata[i]);
	return &r->base;
}

BERTH_STREAM(server_stream_images)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamImagesRequest *in =
		(const Runtime__V1__StreamImagesRequest *)req;
	g_autoptr(GPtrArray) recs = images_matching(s, in->filter, error);
	if (recs == NULL)
		return FALSE;
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	for (guint i = 0; i < recs->len; i++)
		g_ptr_array_add(items, image_reply(s, call, recs->pdata[i]));
	Runtime__V1__StreamImagesResponse page =
		RUNTIME__V1__STREAM_IMAGES_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base, (void ***)&page.images,
				  &page.n_images, items, error);
}

/* An absent image is no error: the reply has no image. */
BERTH_UNARY(server_image_status)
{
	BerthServer *s = ctx;
	const Runtime__V1__ImageStatusRequest *in =
		(const Runtime__V1__ImageStatusRequest *)req;
	const char *name = image_name(in->image, error);
	if (name == NULL)
		return NULL;
	g_autoptr(ImageRecord) rec = NULL;
	if (!lookup_if_present(s, name, &rec, error))
		return NULL;
	Runtime__V1__ImageStatusResponse *r =
		reply_new(call, Runtime__V1__ImageStatusResponse,
			  runtime__v1__image_status_response__init);
	if (rec == NULL)
		return &r->base;
	r->image = image_reply(s, call, rec);
	if (in->verbose)
		image_status_info(s, call, rec, r);
	return &r->base;
}

/* Idempotent: a name that resolves to nothing has nothing to remove. */
BERTH_UNARY(server_remove_image)
{
	BerthServer *s = ctx;
	const Runtime__V1__RemoveImageRequest *in =
		(const Runtime__V1__RemoveImageRequest *)req;
	const char *name = image_name(in->image, error);
	if (name == NULL)
		return NULL;
	g_autoptr(ImageRecord) rec = NULL;
	if (!lookup_if_present(s, name, &rec, error))
		return NULL;
	if (rec != NULL && !image_store_remove(s->images, rec->id, error))
		return NULL;
	Runtime__V1__RemoveImageResponse *r =
		reply_new(call, Runtime__V1__RemoveImageResponse,
			  runtime__v1__remove_image_response__init);
	return &r->base;
}

BERTH_UNARY(server_image_fs_info)
{
	(void)req;
	(void)error;
	BerthServer *s = ctx;
	Runtime__V1__ImageFsInfoResponse *r =
		reply_new(call, Runtime__V1__ImageFsInfoResponse,
			  runtime__v1__image_fs_info_response__init);
	Runtime__V1__FilesystemUsage *u =
		reply_new(call, Runtime__V1__FilesystemUsage,
			  runtime__v1__filesystem_usage__init);
	ImageFsUsage usage;
	image_store_usage(s->images, &usage);
	u->fs_id = reply_new(call, Runtime__V1__FilesystemIdentifier,
			     runtime__v1__filesystem_identifier__init);
	u->timestamp = usage.timestamp_ns;
	u->fs_id->mountpoint = reply_str(call, usage.mountpoint);
	u->used_bytes = reply_u64(call, usage.used_bytes);
	u->inodes_used = reply_u64(call, usage.inodes_used);
	image_fs_usage_clear(&usage);
	r->image_filesystems = arena_new0(cri_call_arena(call),
					  Runtime__V1__FilesystemUsage *);
	r->image_filesystems[0] = u;
	r->n_image_filesystems = 1;
	return &r->base;
}
