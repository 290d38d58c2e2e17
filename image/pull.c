/* Pulling one image: the reference resolved to candidate registries, the
 * manifest (this host's platform out of an index) and the config fetched
 * and checked, the layers made stored (pull-layers.c), then the image
 * committed with its names. Callers asking for the same reference with the
 * same credentials at once share one flight on its own thread. */
#include "image/json.h"
#include "image/pull-private.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <string.h>

#define PULL_POLL_US (100 * G_TIME_SPAN_MILLISECOND)
/* A caller that joined a flight just as it gave up starts a new one. */
#define PULL_MAX_REJOINS 3

/* --- the puller and its flights ----------------------------------------- */

static void pull_flight_unref(PullFlight *f)
{
	if (f == NULL || !g_atomic_int_dec_and_test(&f->refs))
		return;
	g_free(f->key);
	g_free(f->reference);
	image_ref_free(f->ref);
	auth_credentials_free(f->creds);
	g_free(f->server_address);
	g_free(f->id);
	g_clear_error(&f->error);
	g_free(f);
}

ImagePuller *image_puller_new(const ImagePullerOptions *o)
{
	ImagePuller *p = g_new0(ImagePuller, 1);
	p->store = o->store;
	p->registries = o->registries;
	if (o->auth_file != NULL && *o->auth_file != '\0')
		p->auth_file = g_strdup(o->auth_file);
	p->max_parallel = o->max_parallel ? o->max_parallel : 3;
	g_mutex_init(&p->mu);
	g_cond_init(&p->cond);
	p->flights = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					   (GDestroyNotify)pull_flight_unref);
	p->layers =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return p;
}

void image_puller_free(ImagePuller *p)
{
	if (p == NULL)
		return;
	g_mutex_lock(&p->mu);
	while (p->workers > 0)
		g_cond_wait(&p->cond, &p->mu);
	g_mutex_unlock(&p->mu);
	g_hash_table_unref(p->flights);
	g_hash_table_unref(p->layers);
	g_mutex_clear(&p->mu);
	g_cond_clear(&p->cond);
	g_free(p->auth_file);
	g_free(p);
}

gboolean image_pull_flight_abandoned(gpointer flight)
{
	return g_atomic_int_get(&((PullFlight *)flight)->waiters) == 0;
}

/* Same reference, same credentials: same flight. A short name is keyed
 * apart from the qualified name it may resolve to. */
static char *pull_key(const ImageRef *ref, const AuthCredentials *c,
		      const char *server_address)
{
	g_autofree char *name = image_ref_string(ref);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	const char *parts[] = {c ? c->username : NULL, c ? c->password : NULL,
			       c ? c->identity_token : NULL,
			       c ? c->registry_token : NULL, server_address};
	for (gsize i = 0; i < G_N_ELEMENTS(parts); i++) {
		const char *s = parts[i] ? parts[i] : "";
		g_checksum_update(sum, (const guchar *)s, strlen(s) + 1);
	}
	return g_strdup_printf("%s%s#%s", ref->qualified ? "" : "short:", name,
			       g_checksum_get_string(sum));
}

/* --- one candidate registry --------------------------------------------- */

/* The image manifest for this host out of an index. */
static RegistryManifest *pull_select_platform(RegistryClient *c,
					      const RegistryManifest *top,
					      GError **error)
{
	g_autoptr(ImageIndex) index = NULL;
	gsize len;
	const char *body = g_bytes_get_data(top->body, &len);
	if (!image_index_parse(body, len, top->media_type, &index, error))
		return NULL;
	const char *os, *arch, *variant;
	image_platform_host(&os, &arch, &variant);
	const ImageIndexEntry *e =
		image_index_select(index, os, arch, variant, error);
	if (e == NULL)
		return NULL;
	return registry_get_manifest(c, e->desc.digest, error);
}

static GHashTable *pull_annotations(const RegistryManifest *m, GError **error)
{
	gsize len;
	const char *body = g_bytes_get_data(m->body, &len);
	g_autoptr(json_t) doc = image_json_load(
		body, len, IMAGE_MANIFEST_MAX_SIZE, "manifest", error);
	GHashTable *out = NULL;
	if (doc == NULL ||
	    !image_json_string_map(doc, "annotations", &out, error))
		return NULL;
	return out;
}

/* The config blob as the string the store keeps (and hashes again). */
static char *pull_config(RegistryClient *c, const ImageManifest *im,
			 ImageConfig **config, GError **error)
{
	g_autoptr(GBytes) blob =
		registry_get_blob(c, im->config.digest, im->config.size,
				  IMAGE_CONFIG_MAX_SIZE, error);
	if (blob == NULL)
		return NULL;
	gsize len;
	const char *data = g_bytes_get_data(blob, &len);
	if (memchr(data, '\0', len) != NULL) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"config %s holds a NUL",
					im->config.digest);
	}
	if (!image_config_parse(data, len, config, error) ||
	    !image_manifest_check_config(im, *config, error)) {
		g_prefix_error(error, "config %s: ", im->config.digest);
		return NULL;
	}
	return g_strndup(data, len);
}

/* What the registry serves for the image: config plus layer blobs, as
 * the manifest lists them (compressed). */
static guint64 pull_size(const ImageManifest *im)
{
	guint64 size = MAX(im->config.size, 0);
	for (guint i = 0; i < im->layers->len; i++) {
		const ImageLayer *l = im->layers->pdata[i];
		size += MAX(l->desc.size, 0);
	}
	return size;
}

static gboolean pull_commit(PullFlight *f, const ImageRef *cand,
			    const RegistryManifest *top,
			    const RegistryManifest *m, const ImageManifest *im,
			    char *config_json, ImageConfig *config,
			    GHashTable *annotations, GError **error)
{
	g_autofree char *repo = image_ref_repo(cand);
	g_autofree char *repo_digest =
		g_strconcat(repo, "@", top->digest, NULL);
	/* name:tag@digest pulls the digest; the tag says nothing sure. */
	g_autofree char *repo_tag =
		cand->digest == NULL ? image_ref_repo_tag(cand) : NULL;
	char *tags[] = {repo_tag, NULL};
	char *digests[] = {repo_digest, NULL};
	ImageRecord rec = {
		.id = im->config.digest,
		.repo_tags = tags,
		.repo_digests = digests,
		.manifest_digest = m->digest,
		.diff_ids = config->diff_ids,
		.size = pull_size(im),
		.config_json = config_json,
		.user = config->user,
		.annotations = annotations,
	};
	if (image_pull_flight_abandoned(f))
		return berth_throw(error, CANCELLED,
				   "cancelled: nobody waits for the image");
	return image_store_commit_image(f->puller->store, &rec, error);
}

/* Pull from one candidate; *absent when it has no such manifest. */
static char *pull_candidate(PullFlight *f, const ImageRef *cand,
			    gboolean *absent, GError **error)
{
	ImagePuller *p = f->puller;
	g_autoptr(GPtrArray) eps =
		registries_endpoints(p->registries, cand, error);
	if (eps == NULL)
		return NULL;
	RegistryClientOptions co = {
		.endpoints = eps,
		.credentials = f->creds,
		.credentials_for = f->server_address,
		.auth_file = p->auth_file,
		.cancelled = image_pull_flight_abandoned,
		.cancel_data = f,
		.max_parallel = p->max_parallel,
	};
	g_autoptr(RegistryClient) c = registry_client_new(&co, error);
	if (c == NULL)
		return NULL;
	g_autoptr(RegistryManifest) top = registry_get_manifest(
		c, cand->digest ? cand->digest : cand->tag, error);
	if (top == NULL) {
		*absent = g_error_matches(*error, BERTH_ERROR,
					  BERTH_ERROR_NOT_FOUND);
		return NULL;
	}
	g_autoptr(RegistryManifest) child = NULL;
	if (image_manifest_kind_is_index(top->kind) &&
	    !(child = pull_select_platform(c, top, error)))
		return NULL;
	const RegistryManifest *m = child ? child : top;
	g_autoptr(ImageManifest) im = NULL;
	g_autoptr(ImageConfig) config = NULL;
	g_autoptr(GHashTable) annotations = NULL;
	gsize len;
	const char *body = g_bytes_get_data(m->body, &len);
	if (!image_manifest_parse(body, len, m->media_type, &im, error) ||
	    !(annotations = pull_annotations(m, error)))
		return NULL;
	g_autofree char *config_json = pull_config(c, im, &config, error);
	if (config_json == NULL ||
	    !image_pull_layers(f, c, im, config->diff_ids, error) ||
	    !pull_commit(f, cand, top, m, im, config_json, config, annotations,
			 error))
		return NULL;
	return g_strdup(im->config.digest);
}

/* Each candidate in turn; only a missing manifest moves on to the next. */
static char *pull_run(PullFlight *f, GError **error)
{
	ImagePuller *p = f->puller;
	g_autoptr(GPtrArray) cands =
		registries_candidates(p->registries, f->ref, error);
	if (cands == NULL)
		return NULL;
	g_autoptr(GString) tried = g_string_new(NULL);
	for (guint i = 0; i < cands->len; i++) {
		g_autoptr(GError) err = NULL;
		gboolean absent = FALSE;
		g_autofree char *name = image_ref_string(cands->pdata[i]);
		char *id = pull_candidate(f, cands->pdata[i], &absent, &err);
		if (id != NULL) {
			log_info("pull %s: image %s from %s", f->reference, id,
				 name);
			return id;
		}
		g_string_append_printf(tried, "%s%s", i ? ", " : "", name);
		if (!absent || i + 1 == cands->len) {
			if (!f->ref->qualified)
				g_prefix_error(&err,
					       "%s%s: ", absent ? "tried " : "",
					       absent ? tried->str : name);
			g_propagate_error(error, g_steal_pointer(&err));
			return NULL;
		}
		log_info("pull %s: %s: %s; trying the next search registry",
			 f->reference, name, err->message);
	}
	return NULL;
}

static gpointer pull_worker_main(gpointer data)
{
	PullFlight *f = data;
	ImagePuller *p = f->puller;
	GError *err = NULL;
	gint64 started = g_get_monotonic_time();
	char *id = pull_run(f, &err);
	berth_metrics_image_pull(err, g_get_monotonic_time() - started);
	if (err != NULL)
		log_warn("pull %s: %s", f->reference, err->message);
	else
		log_debug("pull %s: %.2f s", f->reference,
			  (g_get_monotonic_time() - started) / 1e6);
	g_mutex_lock(&p->mu);
	f->done = TRUE;
	f->id = id;
	f->error = err;
	if (g_hash_table_lookup(p->flights, f->key) == f)
		g_hash_table_remove(p->flights, f->key);
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->mu);
	pull_flight_unref(f);
	g_mutex_lock(&p->mu);
	p->workers--;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->mu);
	return NULL;
}

/* --- callers ---------------------------------------------------------------
 */

/* The flight for this key, started when there is none; the caller is
 * counted as a waiter and holds a reference. */
static PullFlight *pull_join(ImagePuller *p, const char *reference,
			     const ImageRef *ref, const AuthCredentials *creds,
			     const char *server_address)
{
	g_autofree char *key = pull_key(ref, creds, server_address);
	g_mutex_lock(&p->mu);
	PullFlight *f = g_hash_table_lookup(p->flights, key);
	if (f != NULL) {
		log_info("pull %s: joins the download under way", reference);
		g_atomic_int_inc(&f->waiters);
	} else {
		f = g_new0(PullFlight, 1);
		f->refs = 2; /* the table's and the worker's */
		f->puller = p;
		f->key = g_steal_pointer(&key);
		f->reference = g_strdup(reference);
		f->ref = image_ref_copy(ref);
		f->creds = auth_credentials_copy(creds);
		f->server_address = g_strdup(server_address);
		f->waiters = 1;
		g_hash_table_insert(p->flights, f->key, f);
		p->workers++;
		g_thread_unref(g_thread_new("pull", pull_worker_main, f));
	}
	g_atomic_int_inc(&f->refs);
	g_mutex_unlock(&p->mu);
	return f;
}

static gboolean pull_caller_gone(const ImagePullOptions *o)
{
	return o->cancelled != NULL && o->cancelled(o->cancel_data);
}

#define PULL_DEADLINE_SLACK_US (100 * G_TIME_SPAN_MILLISECOND)

/* Wait for the flight's end, the caller's deadline or its cancel. */
static char *pull_wait(PullFlight *f, const ImagePullOptions *o, GError **error)
{
	ImagePuller *p = f->puller;
	gint64 deadline = o->deadline > 0 ? o->deadline : G_MAXINT64;
	char *id = NULL;
	gboolean gone = FALSE;
	g_mutex_lock(&p->mu);
	while (!f->done && !(gone = pull_caller_gone(o)) &&
	       g_get_monotonic_time() < deadline)
		g_cond_wait_until(
			&p->cond, &p->mu,
			MIN(deadline, g_get_monotonic_time() + PULL_POLL_US));
	gboolean done = f->done;
	if (done && f->error == NULL)
		id = g_strdup(f->id);
	else if (done)
		g_propagate_error(error, g_error_copy(f->error));
	g_mutex_unlock(&p->mu);
	g_atomic_int_add(&f->waiters, -1);
	if (done)
		return id;
	/* gRPC cancels a call whose deadline passed, and its clock and ours
	 * differ a little: a cancel that close to the deadline is the
	 * deadline, which is what the client must be told. */
	if (gone && g_get_monotonic_time() < deadline - PULL_DEADLINE_SLACK_US)
		berth_throw(error, CANCELLED, "cancelled by the caller");
	else
		berth_throw(error, DEADLINE_EXCEEDED,
			    "deadline exceeded before the image arrived");
	return NULL;
}

static AuthCredentials *pull_credentials(const ImagePullOptions *o,
					 GError **error)
{
	if (o->auth == NULL)
		return NULL;
	AuthCredentials *c = auth_credentials_from_config(o->auth, error);
	if (c == NULL && error != NULL && *error != NULL)
		g_prefix_error(error, "auth: ");
	return c;
}

char *image_pull(ImagePuller *p, const char *reference,
		 const ImagePullOptions *o, GError **error)
{
	g_autofree char *id = image_ref_parse_id(reference);
	g_autoptr(ImageRecord) stored =
		id ? image_store_lookup(p->store, id, NULL) : NULL;
	if (stored != NULL)
		return g_strdup(stored->id);
	g_autoptr(ImageRef) ref = NULL;
	if (!image_ref_parse(reference, &ref, error))
		return NULL;
	g_autoptr(GError) err = NULL;
	g_autoptr(AuthCredentials) creds = pull_credentials(o, &err);
	if (err != NULL) {
		g_propagate_error(error, g_steal_pointer(&err));
		return NULL;
	}
	const char *server = o->auth ? o->auth->server_address : NULL;
	for (guint attempt = 0;; attempt++) {
		g_clear_error(&err);
		PullFlight *f = pull_join(p, reference, ref, creds, server);
		char *out = pull_wait(f, o, &err);
		pull_flight_unref(f);
		if (out != NULL)
			return out;
		if (attempt == PULL_MAX_REJOINS || pull_caller_gone(o) ||
		    !g_error_matches(err, BERTH_ERROR, BERTH_ERROR_CANCELLED))
			break;
	}
	g_propagate_prefixed_error(error, g_steal_pointer(&err),
				   "pull %s: ", reference);
	return NULL;
}

/* --- finding stored images by name ---------------------------------------- */

ImageRecord *image_puller_lookup(ImagePuller *p, const char *name,
				 GError **error)
{
	g_autoptr(GError) err = NULL;
	ImageRecord *rec = image_store_lookup(p->store, name, &err);
	if (rec != NULL)
		return rec;
	if (!g_error_matches(err, BERTH_ERROR, BERTH_ERROR_NOT_FOUND)) {
		g_propagate_error(error, g_steal_pointer(&err));
		return NULL;
	}
	g_autofree char *id = image_ref_parse_id(name);
	g_autoptr(ImageRef) ref = NULL;
	if (id != NULL) {
		g_propagate_error(error, g_steal_pointer(&err));
		return NULL;
	}
	if (!image_ref_parse(name, &ref, error))
		return NULL;
	g_autoptr(GPtrArray) cands =
		registries_candidates(p->registries, ref, NULL);
	for (guint i = 0; cands != NULL && i < cands->len; i++) {
		const ImageRef *c = cands->pdata[i];
		g_autofree char *key = c->digest ? image_ref_repo_digest(c)
						 : image_ref_repo_tag(c);
		rec = image_store_lookup(p->store, key, NULL);
		if (rec != NULL)
			return rec;
	}
	g_propagate_error(error, g_steal_pointer(&err));
	return NULL;
}
