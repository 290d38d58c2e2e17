/* The public face of the registry client: one RegistryClient per pull,
 * and manifests, small blobs and streamed blobs fetched through the
 * transfer engine in registry-http.c. */
#include "image/registry-private.h"

#include <string.h>

#include "util/error.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

static void reg_ep_free(RegEp *e)
{
	g_free(e->api_host);
	auth_credentials_free(e->creds);
	g_free(e->token_key);
	g_free(e);
}

static void reg_curl_init_once(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		g_once_init_leave(&once, 1);
	}
}

/* Docker Hub's API lives on another host than its name. */
static char *reg_api_host(const char *host)
{
	if (strcmp(host, "docker.io") == 0)
		return g_strdup("registry-1.docker.io");
	return g_strdup(host);
}

RegistryClient *registry_client_new(const RegistryClientOptions *o,
				    GError **error)
{
	if (o->endpoints == NULL || o->endpoints->len == 0) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"registry client needs at least one endpoint");
	}
	reg_curl_init_once();
	RegistryClient *c = g_new0(RegistryClient, 1);
	c->eps = g_ptr_array_new_with_free_func((GDestroyNotify)reg_ep_free);
	for (guint i = 0; i < o->endpoints->len; i++) {
		RegEp *e = g_new0(RegEp, 1);
		e->ep = o->endpoints->pdata[i];
		e->is_source = !e->ep->mirror;
		e->api_host = reg_api_host(e->ep->host);
		g_ptr_array_add(c->eps, e);
	}
	c->credentials = auth_credentials_copy(o->credentials);
	c->credentials_for = g_strdup(o->credentials_for);
	c->auth_file = g_strdup(o->auth_file);
	c->deadline = o->deadline;
	c->cancelled = o->cancelled;
	c->cancel_data = o->cancel_data;
	c->max_parallel = o->max_parallel ? o->max_parallel : 3;
	c->stall_seconds =
		o->stall_seconds ? o->stall_seconds : REG_STALL_SECONDS;
	c->max_tries = o->max_tries ? o->max_tries : 3;
	c->backoff_ms = o->backoff_ms ? o->backoff_ms : 200;
	c->multi = curl_multi_init();
	c->tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)registry_token_free);
	c->user_agent = g_strdup("berth/" BERTH_VERSION);
	return c;
}

void registry_client_free(RegistryClient *c)
{
	if (c == NULL)
		return;
	g_ptr_array_unref(c->eps);
	auth_credentials_free(c->credentials);
	g_free(c->credentials_for);
	g_free(c->auth_file);
	curl_multi_cleanup(c->multi);
	g_hash_table_unref(c->tokens);
	g_free(c->user_agent);
	g_free(c);
}

const RegistryEndpoint *registry_client_endpoint(const RegistryClient *c)
{
	if (!c->served)
		return NULL;
	return ((RegEp *)c->eps->pdata[c->first_ep])->ep;
}

void registry_manifest_free(RegistryManifest *m)
{
	if (m == NULL)
		return;
	g_bytes_unref(m->body);
	g_free(m->media_type);
	g_free(m->digest);
	g_free(m);
}

static char *reg_media_type(const char *content_type)
{
	if (content_type == NULL)
		return g_strdup("");
	char *t = g_strndup(content_type, strcspn(content_type, ";"));
	return g_strstrip(t);
}

static RegistryManifest *reg_manifest_result(RegXfer *x, const char *reference,
					     GError **error)
{
	const RegEp *e = registry_xfer_ep(x);
	g_autoptr(RegistryManifest) m = g_new0(RegistryManifest, 1);
	m->media_type = reg_media_type(x->content_type);
	m->endpoint = e->ep;
	if (!image_manifest_detect((const char *)x->body->data, x->body->len,
				   *m->media_type ? m->media_type : NULL,
				   &m->kind, error)) {
		g_prefix_error(error,
			       "registry %s: %s: manifest %s: ", e->ep->host,
			       e->ep->repo, reference);
		return NULL;
	}
	m->digest = x->digest ? g_strdup(x->digest)
			      : digest_compute(DIGEST_SHA256, x->body->data,
					       x->body->len);
	m->body = g_bytes_new(x->body->data, x->body->len);
	log_info("manifest %s served by %s/%s%s", reference, e->ep->host,
		 e->ep->repo, e->ep->mirror ? " (mirror)" : "");
	return g_steal_pointer(&m);
}

RegistryManifest *registry_get_manifest(RegistryClient *c,
					const char *reference, GError **error)
{
	gboolean by_digest = reference && strchr(reference, ':') != NULL;
	if (by_digest ? !digest_validate(reference, error)
		      : !image_ref_validate_tag(reference, error))
		return NULL;
	g_autofree char *what = g_strdup_printf("manifest %s", reference);
	g_autofree char *suffix = g_strdup_printf("manifests/%s", reference);
	g_autoptr(RegXfer) x =
		registry_xfer_new(c, REG_XFER_MANIFEST, what, suffix,
				  by_digest ? reference : NULL, -1);
	x->max = IMAGE_MANIFEST_MAX_SIZE;
	RegXfer *xs[] = {x};
	if (!registry_run(c, xs, 1, 1, TRUE, error))
		return NULL;
	return reg_manifest_result(x, reference, error);
}

GBytes *registry_get_blob(RegistryClient *c, const char *digest, gint64 size,
			  gsize max, GError **error)
{
	if (!digest_validate(digest, error))
		return NULL;
	if (size > 0 && (guint64)size > max) {
		return berth_throw_null(error, RESOURCE_EXHAUSTED,
					"blob %s: %" G_GINT64_FORMAT
					" bytes is over the limit of %zu",
					digest, size, max);
	}
	g_autofree char *what = g_strdup_printf("blob %s", digest);
	g_autofree char *suffix = g_strdup_printf("blobs/%s", digest);
	g_autoptr(RegXfer) x =
		registry_xfer_new(c, REG_XFER_BLOB, what, suffix, digest, size);
	x->max = max;
	RegXfer *xs[] = {x};
	if (!registry_run(c, xs, 1, 1, TRUE, error))
		return NULL;
	return g_bytes_new(x->body->data, x->body->len);
}

static RegXfer *reg_blob_xfer(RegistryClient *c, RegistryBlobRequest *r,
			      GError **error)
{
	g_autoptr(DigestVerifier) v =
		digest_verifier_new(r->digest, r->size, error);
	if (v == NULL)
		return NULL;
	g_autofree char *what = g_strdup_printf("blob %s", r->digest);
	g_autofree char *suffix = g_strdup_printf("blobs/%s", r->digest);
	RegXfer *x = registry_xfer_new(c, REG_XFER_BLOB, what, suffix,
				       r->digest, r->size);
	x->sink = &r->sink;
	x->verifier = g_steal_pointer(&v);
	return x;
}

gboolean registry_fetch_blobs(RegistryClient *c, RegistryBlobRequest *reqs,
			      guint n, GError **error)
{
	g_autoptr(GPtrArray) xs = g_ptr_array_new_with_free_func(
		(GDestroyNotify)registry_xfer_free);
	for (guint i = 0; i < n; i++) {
		GError *local = NULL;
		RegXfer *x = reg_blob_xfer(c, &reqs[i], &local);
		if (x == NULL) {
			/* Nothing started yet: every sink hears of it. */
			for (guint k = 0; k < n; k++) {
				reqs[k].error = g_error_copy(local);
				reqs[k].sink.abort(reqs[k].sink.user_data,
						   local);
			}
			g_propagate_error(error, local);
			return FALSE;
		}
		g_ptr_array_add(xs, x);
	}
	gboolean ok = registry_run(c, (RegXfer **)xs->pdata, n, c->max_parallel,
				   TRUE, error);
	for (guint i = 0; i < n; i++) {
		RegXfer *x = xs->pdata[i];
		g_clear_error(&reqs[i].error);
		if (x->result)
			reqs[i].error = g_error_copy(x->result);
	}
	return ok;
}
