/* The transfer engine of the registry client: every request is a RegXfer
 * run on the client's curl multi handle. Per transfer it follows
 * redirects by hand (credentials never go to another origin), answers
 * 401s, retries connection errors, 5xx and 429 with backoff inside the
 * deadline, resumes interrupted blobs with Range, and moves from a failing
 * mirror to the next endpoint. */
#include "image/registry-private.h"

#include <stdio.h>
#include <string.h>

#include "image/json.h"
#include "util/error.h"
#include "util/log.h"

RegEp *registry_xfer_ep(const RegXfer *x)
{
	return x->client->eps->pdata[x->ep];
}

RegXfer *registry_xfer_new(RegistryClient *c, RegXferKind kind,
			   const char *what, const char *suffix,
			   const char *digest, gint64 size)
{
	RegXfer *x = g_new0(RegXfer, 1);
	x->client = c;
	x->kind = kind;
	x->what = g_strdup(what);
	x->suffix = g_strdup(suffix);
	x->digest = g_strdup(digest);
	x->size = size;
	x->body = g_byte_array_new();
	x->err_body = g_byte_array_new();
	x->www_auth = g_ptr_array_new_with_free_func(g_free);
	x->ep = c->first_ep;
	return x;
}

static void reg_reset_response(RegXfer *x)
{
	x->status = 0;
	g_clear_pointer(&x->content_type, g_free);
	g_clear_pointer(&x->docker_digest, g_free);
	g_clear_pointer(&x->location, g_free);
	g_clear_pointer(&x->retry_after, g_free);
	g_clear_pointer(&x->content_range, g_free);
	g_ptr_array_set_size(x->www_auth, 0);
	g_byte_array_set_size(x->err_body, 0);
}

/* Drop the curl handle of the current attempt. */
static void reg_xfer_detach(RegXfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->client->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	g_clear_pointer(&x->headers, curl_slist_free_all);
	x->active = FALSE;
}

void registry_xfer_free(RegXfer *x)
{
	if (x == NULL)
		return;
	reg_xfer_detach(x);
	reg_reset_response(x);
	g_free(x->what);
	g_free(x->suffix);
	g_free(x->digest);
	g_free(x->url);
	g_byte_array_unref(x->body);
	g_byte_array_unref(x->err_body);
	g_ptr_array_unref(x->www_auth);
	g_clear_pointer(&x->verifier, digest_verifier_free);
	g_clear_error(&x->result);
	g_clear_error(&x->abort);
	g_free(x);
}

/* "registry HOST: REPO: WHAT: " in front of a message. */
static GError *G_GNUC_PRINTF(3, 4)
	reg_error(const RegXfer *x, BerthErrorCode code, const char *fmt, ...)
{
	const RegEp *e = registry_xfer_ep(x);
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return g_error_new(BERTH_ERROR, code, "registry %s: %s: %s: %s",
			   e->ep->host, e->ep->repo, x->what, msg);
}

/* ---- curl callbacks ----------------------------------------------------- */

static gboolean reg_header_is(const char *line, gsize len, const char *name,
			      const char **value)
{
	gsize n = strlen(name);
	if (len <= n || line[n] != ':' || g_ascii_strncasecmp(line, name, n))
		return FALSE;
	*value = line + n + 1;
	return TRUE;
}

static char *reg_header_value(const char *v, const char *end)
{
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && g_ascii_isspace(end[-1]))
		end--;
	return g_strndup(v, end - v);
}

/* A 206 must start where we left off; a 200 restarts the blob, so the
 * bytes already delivered are skipped. */
static void reg_on_status(RegXfer *x)
{
	x->skip = x->delivered;
}

static void reg_on_content_range(RegXfer *x)
{
	guint64 start = 0;
	if (x->status != 206)
		return;
	if (sscanf(x->content_range, "bytes %" G_GUINT64_FORMAT "-", &start) !=
		    1 ||
	    start > x->delivered) {
		x->abort = reg_error(x, BERTH_ERROR_UNAVAILABLE,
				     "bad Content-Range \"%s\" resuming at "
				     "%" G_GUINT64_FORMAT,
				     x->content_range, x->delivered);
		return;
	}
	x->skip = x->delivered - start;
}

static void reg_on_header_line(RegXfer *x, const char *line, gsize len)
{
	const char *v, *end = line + len;
	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', len);
		reg_reset_response(x);
		x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		reg_on_status(x);
	} else if (reg_header_is(line, len, "content-type", &v)) {
		x->content_type = reg_header_value(v, end);
	} else if (reg_header_is(line, len, "docker-content-digest", &v)) {
		x->docker_digest = reg_header_value(v, end);
	} else if (reg_header_is(line, len, "location", &v)) {
		x->location = reg_header_value(v, end);
	} else if (reg_header_is(line, len, "retry-after", &v)) {
		x->retry_after = reg_header_value(v, end);
	} else if (reg_header_is(line, len, "www-authenticate", &v)) {
		g_ptr_array_add(x->www_auth, reg_header_value(v, end));
	} else if (reg_header_is(line, len, "content-range", &v)) {
		x->content_range = reg_header_value(v, end);
		reg_on_content_range(x);
	}
}

static size_t reg_on_header(char *buf, size_t size, size_t n, void *data)
{
	RegXfer *x = data;
	gsize len = size * n;
	reg_on_header_line(x, buf, len);
	return x->abort ? 0 : len;
}

static gboolean reg_status_ok(long status)
{
	return status >= 200 && status < 300;
}

static gboolean reg_deliver(RegXfer *x, const char *buf, gsize len)
{
	GError **err = &x->abort;
	if (x->sink == NULL) {
		if (x->body->len + len > x->max) {
			*err = reg_error(x, BERTH_ERROR_RESOURCE_EXHAUSTED,
					 "larger than %zu bytes", x->max);
			return FALSE;
		}
		/* A body past the size asked for cannot match: stop there,
		 * not at the cap. */
		if (x->size >= 0 && x->body->len + len > (guint64)x->size) {
			*err = reg_error(x, BERTH_ERROR_DATA_LOSS,
					 "size mismatch (more than the "
					 "%" G_GINT64_FORMAT " bytes declared)",
					 x->size);
			return FALSE;
		}
		g_byte_array_append(x->body, (const guint8 *)buf, len);
		return TRUE;
	}
	if (!digest_verifier_update(x->verifier, buf, len, err) ||
	    !x->sink->write(x->sink->user_data, buf, len, err)) {
		g_prefix_error(
			err, "registry %s: %s: ", registry_xfer_ep(x)->ep->host,
			registry_xfer_ep(x)->ep->repo);
		return FALSE;
	}
	x->delivered += len;
	return TRUE;
}

static size_t reg_on_body(char *buf, size_t size, size_t n, void *data)
{
	RegXfer *x = data;
	gsize len = size * n, total = len;
	if (!reg_status_ok(x->status)) {
		gsize room = REG_ERROR_BODY_MAX - x->err_body->len;
		g_byte_array_append(x->err_body, (const guint8 *)buf,
				    MIN(room, len));
		return total;
	}
	gsize drop = MIN(x->skip, len);
	x->skip -= drop;
	if (len > drop && !reg_deliver(x, buf + drop, len - drop))
		return 0;
	return total;
}

/* ---- starting an attempt ------------------------------------------------ */

static char *reg_base_url(const RegEp *e)
{
	gboolean http = e->ep->insecure && e->use_http;
	return g_strdup_printf("%s://%s/v2/%s/", http ? "http" : "https",
			       e->api_host, e->ep->repo);
}

static gboolean reg_add_header(RegXfer *x, const char *name, const char *value)
{
	g_autofree char *line = g_strconcat(name, ": ", value, NULL);
	struct curl_slist *l = curl_slist_append(x->headers, line);
	explicit_bzero(line, strlen(line));
	if (l == NULL)
		return FALSE;
	x->headers = l;
	return TRUE;
}

static gboolean reg_request_headers(RegXfer *x, GError **error)
{
	RegEp *e = registry_xfer_ep(x);
	if (x->kind == REG_XFER_MANIFEST)
		reg_add_header(x, "Accept", image_manifest_accept_header());
	if (!x->foreign) {
		g_autoptr(GError) local = NULL;
		g_autofree char *auth =
			registry_auth_header(x->client, e, &local);
		if (local != NULL) {
			g_propagate_error(error, g_steal_pointer(&local));
			return FALSE;
		}
		if (auth != NULL) {
			reg_add_header(x, "Authorization", auth);
			explicit_bzero(auth, strlen(auth));
		}
	}
	if (x->sink != NULL && x->delivered > 0) {
		g_autofree char *range = g_strdup_printf(
			"bytes=%" G_GUINT64_FORMAT "-", x->delivered);
		reg_add_header(x, "Range", range);
	}
	return TRUE;
}

static gboolean reg_xfer_start(RegXfer *x, GError **error)
{
	RegistryClient *c = x->client;
	RegEp *e = registry_xfer_ep(x);
	if (x->url == NULL) {
		g_autofree char *base = reg_base_url(e);
		x->url = g_strconcat(base, x->suffix, NULL);
		x->foreign = FALSE;
		x->redirects = 0;
	}
	reg_reset_response(x);
	if (x->sink == NULL)
		g_byte_array_set_size(x->body, 0);
	x->skip = 0;
	if (!reg_request_headers(x, error))
		return FALSE;
	x->easy = curl_easy_init();
	if (x->easy == NULL)
		return berth_throw(error, RESOURCE_EXHAUSTED,
				   "cannot create a curl handle");
	registry_easy_common(c, x->easy, e->ep->insecure);
	x->curl_error[0] = '\0';
	curl_easy_setopt(x->easy, CURLOPT_URL, x->url);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, reg_on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, reg_on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->curl_error);
	if (curl_multi_add_handle(c->multi, x->easy) != CURLM_OK)
		return berth_throw(error, INTERNAL, "curl_multi_add_handle");
	x->active = TRUE;
	log_debug("registry: GET %s (%s)", x->url, x->what);
	return TRUE;
}

/* ---- outcomes ----------------------------------------------------------- */

static void reg_xfer_fail(RegXfer *x, GError *err)
{
	reg_xfer_detach(x);
	x->done = TRUE;
	g_clear_error(&x->result);
	x->result = err;
	if (x->sink != NULL && !x->sink_done) {
		x->sink_done = TRUE;
		x->sink->abort(x->sink->user_data, err);
	}
}

static void reg_xfer_restart(RegXfer *x, gint64 start_at)
{
	x->start_at = start_at;
}

/* A failure of the current endpoint: a mirror hands over to the next
 * endpoint, the source's failure is final. */
static void reg_xfer_endpoint_failed(RegXfer *x, GError *err)
{
	RegistryClient *c = x->client;
	RegEp *e = registry_xfer_ep(x);
	if (!e->ep->mirror || x->ep + 1 >= c->eps->len) {
		reg_xfer_fail(x, err);
		return;
	}
	RegEp *next = c->eps->pdata[x->ep + 1];
	log_warn("%s (mirror): %s; trying %s", e->ep->host, err->message,
		 next->ep->host);
	g_error_free(err);
	x->ep++;
	x->tries = 0;
	x->auth_tries = 0;
	g_clear_pointer(&x->url, g_free);
	reg_xfer_restart(x, 0);
}

static gint64 reg_retry_after_ms(const RegXfer *x)
{
	if (x->retry_after == NULL || !g_ascii_isdigit(*x->retry_after))
		return 0;
	return MIN(g_ascii_strtoll(x->retry_after, NULL, 10), 10) * 1000;
}

/* Connection errors, 5xx and 429: again after a backoff, if tries and
 * time are left. */
static void reg_xfer_retry(RegXfer *x, GError *err)
{
	RegistryClient *c = x->client;
	if (++x->tries >= c->max_tries) {
		g_prefix_error(&err, "after %u tries: ", x->tries);
		reg_xfer_endpoint_failed(x, err);
		return;
	}
	gint64 delay = (gint64)c->backoff_ms << MIN(x->tries - 1, 10);
	delay = MIN(MAX(delay, reg_retry_after_ms(x)), 10000);
	gint64 at = g_get_monotonic_time() + delay * 1000;
	if (c->deadline != 0 && at >= c->deadline) {
		g_prefix_error(&err, "no time left to try again: ");
		reg_xfer_endpoint_failed(x, err);
		return;
	}
	log_debug("registry: %s; again in %" G_GINT64_FORMAT " ms",
		  err->message, delay);
	g_error_free(err);
	g_clear_pointer(&x->url, g_free);
	reg_xfer_restart(x, at);
}

static gboolean reg_curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_TOO_MANY_REDIRECTS:
		return FALSE;
	default:
		return TRUE;
	}
}

static void reg_xfer_transport_error(RegXfer *x, CURLcode rc)
{
	RegEp *e = registry_xfer_ep(x);
	const char *why =
		x->curl_error[0] ? x->curl_error : curl_easy_strerror(rc);
	if (e->ep->insecure && !e->use_http && !e->https_ok && !x->foreign &&
	    x->status == 0) {
		log_debug("registry %s: https failed (%s); trying http",
			  e->ep->host, why);
		e->use_http = TRUE;
		g_clear_pointer(&x->url, g_free);
		reg_xfer_restart(x, 0);
		return;
	}
	GError *err;
	RegistryClient *c = x->client;
	/* curl's timeout is the deadline rounded to ms: that is the end. */
	if (rc == CURLE_OPERATION_TIMEDOUT && c->deadline != 0 &&
	    g_get_monotonic_time() > c->deadline - 250 * 1000) {
		reg_xfer_fail(x, reg_error(x, BERTH_ERROR_DEADLINE_EXCEEDED,
					   "deadline exceeded: GET %s: %s",
					   x->url, why));
		return;
	}
	if (reg_status_ok(x->status))
		err = reg_error(x, BERTH_ERROR_DATA_LOSS,
				"body truncated after %" G_GUINT64_FORMAT
				" bytes: GET %s: %s",
				x->sink ? x->delivered : x->body->len, x->url,
				why);
	else
		err = reg_error(x, BERTH_ERROR_UNAVAILABLE, "GET %s: %s",
				x->url, why);
	if (reg_curl_retryable(rc))
		reg_xfer_retry(x, err);
	else
		reg_xfer_endpoint_failed(x, err);
}

/* The registry's error document, as "CODE: message; ..." (or ""). */
static char *reg_error_detail(const RegXfer *x)
{
	g_autoptr(GString) s = g_string_new(NULL);
	json_error_t jerr;
	g_autoptr(json_t) root = json_loadb((const char *)x->err_body->data,
					    x->err_body->len, 0, &jerr);
	json_t *errors = root ? json_object_get(root, "errors") : NULL;
	for (gsize i = 0; json_is_array(errors) && i < json_array_size(errors);
	     i++) {
		json_t *e = json_array_get(errors, i);
		const char *code =
			json_string_value(json_object_get(e, "code"));
		const char *msg =
			json_string_value(json_object_get(e, "message"));
		if (code == NULL && msg == NULL)
			continue;
		g_string_append_printf(s, "%s%s%s%s", s->len ? "; " : "",
				       code ? code : "",
				       code && msg ? ": " : "", msg ? msg : "");
	}
	if (s->len > 300)
		g_string_truncate(s, 300);
	for (gsize i = 0; i < s->len; i++)
		if (!g_ascii_isprint(s->str[i]))
			s->str[i] = '?';
	return g_strdup(s->str);
}

static void reg_xfer_http_error(RegXfer *x)
{
	g_autofree char *detail = reg_error_detail(x);
	g_autofree char *suffix =
		*detail ? g_strdup_printf(" (%s)", detail) : g_strdup("");
	long st = x->status;
	if (st == 429 || st >= 500) {
		reg_xfer_retry(
			x, reg_error(x,
				     st == 429 ? BERTH_ERROR_RESOURCE_EXHAUSTED
					       : BERTH_ERROR_UNAVAILABLE,
				     "HTTP %ld%s", st, suffix));
		return;
	}
	BerthErrorCode code = st == 404	  ? BERTH_ERROR_NOT_FOUND
			      : st == 400 ? BERTH_ERROR_INVALID_ARGUMENT
					  : BERTH_ERROR_FAILED_PRECONDITION;
	GError *err;
	if (st == 403) {
		err = NULL;
		registry_auth_fail(x->client, registry_xfer_ep(x), st, suffix,
				   &err);
	} else {
		err = reg_error(x, code, "%s%s",
				st == 404 ? "not found" : "request refused",
				*suffix ? suffix
					: (st == 404 ? "" : " (no details)"));
		if (st != 404)
			g_prefix_error(&err, "HTTP %ld: ", st);
	}
	reg_xfer_endpoint_failed(x, err);
}

static void reg_xfer_unauthorized(RegXfer *x)
{
	RegEp *e = registry_xfer_ep(x);
	GError *err = NULL;
	if (x->foreign) {
		reg_xfer_endpoint_failed(
			x,
			reg_error(x, BERTH_ERROR_UNAUTHENTICATED,
				  "redirect target %s answered 401", x->url));
		return;
	}
	if (x->auth_tries++ == 0 &&
	    registry_auth_challenge(x->client, e, x->www_auth, &err)) {
		reg_xfer_restart(x, 0);
		return;
	}
	if (err == NULL) {
		g_autofree char *detail = reg_error_detail(x);
		g_autofree char *suffix =
			*detail ? g_strdup_printf(" (%s)", detail)
				: g_strdup("");
		registry_auth_fail(x->client, e, 401, suffix, &err);
	}
	if (err->code == BERTH_ERROR_UNAVAILABLE) {
		x->auth_tries = 0;
		reg_xfer_retry(x, err);
		return;
	}
	reg_xfer_endpoint_failed(x, err);
}

static gboolean reg_url_origin(const char *url, char **scheme, char **origin)
{
	CURLU *u = curl_url();
	char *s = NULL, *h = NULL, *p = NULL;
	gboolean ok = curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		      curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
		      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
		      curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) ==
			      CURLUE_OK;
	if (ok) {
		*scheme = g_ascii_strdown(s, -1);
		g_autofree char *host = g_ascii_strdown(h, -1);
		*origin = g_strdup_printf("%s://%s:%s", *scheme, host, p);
	}
	curl_free(s);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return ok;
}

static char *reg_resolve_url(const char *base, const char *location)
{
	CURLU *u = curl_url();
	char *out = NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, location, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
		out = NULL;
	curl_url_cleanup(u);
	char *copy = g_strdup(out);
	curl_free(out);
	return copy;
}

/* Follow a redirect by hand: http(s) only, no downgrade to http from a
 * secure endpoint, and no Authorization to another origin. */
static void reg_xfer_redirect(RegXfer *x)
{
	RegEp *e = registry_xfer_ep(x);
	g_autofree char *target = reg_resolve_url(x->url, x->location);
	g_autofree char *scheme = NULL, *origin = NULL;
	g_autofree char *base = reg_base_url(e);
	g_autofree char *base_scheme = NULL, *base_origin = NULL;
	if (++x->redirects > REG_MAX_REDIRECTS || target == NULL ||
	    !reg_url_origin(target, &scheme, &origin) ||
	    !reg_url_origin(base, &base_scheme, &base_origin) ||
	    (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0) ||
	    (strcmp(scheme, "http") == 0 && !e->ep->insecure)) {
		reg_xfer_endpoint_failed(
			x, reg_error(x, BERTH_ERROR_UNAVAILABLE,
				     "refusing redirect %u to \"%s\"",
				     x->redirects, x->location));
		return;
	}
	if (strcmp(origin, base_origin) != 0)
		x->foreign = TRUE;
	log_debug("registry: %s redirected to %s%s", x->url, target,
		  x->foreign ? " (no credentials)" : "");
	g_free(x->url);
	x->url = g_steal_pointer(&target);
	reg_xfer_restart(x, 0);
}

/* A buffered body against the digest it was asked by (or that the
 * registry claimed for a tag). */
static GError *reg_check_body(RegXfer *x)
{
	const char *want = x->digest;
	g_autoptr(GError) err = NULL;
	if (want == NULL && x->docker_digest != NULL &&
	    digest_is_valid(x->docker_digest))
		want = x->docker_digest;
	if (want == NULL)
		return NULL;
	g_autoptr(DigestVerifier) v = digest_verifier_new(want, x->size, &err);
	if (v == NULL ||
	    !digest_verifier_update(v, x->body->data, x->body->len, &err) ||
	    !digest_verifier_finish(v, &err))
		return reg_error(x, BERTH_ERROR_DATA_LOSS, "%s%s",
				 want == x->digest ? ""
						   : "Docker-Content-Digest: ",
				 err->message);
	return NULL;
}

static void reg_xfer_success(RegXfer *x)
{
	RegistryClient *c = x->client;
	GError *err = NULL;
	if (x->sink != NULL) {
		if (!digest_verifier_finish(x->verifier, &err)) {
			reg_xfer_fail(x, reg_error(x, BERTH_ERROR_DATA_LOSS,
						   "%s", err->message));
			g_error_free(err);
			return;
		}
		x->sink_done = TRUE;
		if (!x->sink->finish(x->sink->user_data, &err)) {
			reg_xfer_fail(x, err);
			return;
		}
	} else if ((err = reg_check_body(x)) != NULL) {
		reg_xfer_endpoint_failed(x, err);
		return;
	}
	if (x->kind == REG_XFER_MANIFEST) {
		c->first_ep = x->ep;
		c->served = TRUE;
	}
	log_debug("registry: %s from %s%s", x->what,
		  registry_xfer_ep(x)->ep->host,
		  registry_xfer_ep(x)->ep->mirror ? " (mirror)" : "");
	reg_xfer_detach(x);
	x->done = TRUE;
}

static void reg_xfer_complete(RegXfer *x, CURLcode rc)
{
	RegEp *e = registry_xfer_ep(x);
	GError *err = NULL;
	reg_xfer_detach(x);
	if (x->abort != NULL) {
		err = g_steal_pointer(&x->abort);
		reg_xfer_fail(x, err);
		return;
	}
	if (registry_check_stop(x->client, &err)) {
		reg_xfer_fail(x, err);
		return;
	}
	if (x->status > 0 && !e->use_http && !x->foreign)
		e->https_ok = TRUE;
	if (rc != CURLE_OK)
		reg_xfer_transport_error(x, rc);
	else if (reg_status_ok(x->status))
		reg_xfer_success(x);
	else if (x->status >= 300 && x->status < 400 && x->location)
		reg_xfer_redirect(x);
	else if (x->status == 401)
		reg_xfer_unauthorized(x);
	else
		reg_xfer_http_error(x);
}

/* ---- the loop ----------------------------------------------------------- */

static void reg_drain_messages(RegistryClient *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		RegXfer *x = NULL;
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &x);
		reg_xfer_complete(x, m->data.result);
	}
}

/* Start every transfer that is due, up to parallel at once. */
static void reg_start_due(RegXfer **xs, guint n, guint parallel, guint *active)
{
	gint64 now = g_get_monotonic_time();
	for (guint i = 0; i < n; i++) {
		RegXfer *x = xs[i];
		if (x->done || x->active)
			continue;
		if (x->start_at > now || *active >= parallel)
			continue;
		GError *err = NULL;
		if (!reg_xfer_start(x, &err)) {
			reg_xfer_fail(x, err);
			continue;
		}
		(*active)++;
	}
}

static void reg_stop_all(RegXfer **xs, guint n, const GError *why)
{
	for (guint i = 0; i < n; i++)
		if (!xs[i]->done)
			reg_xfer_fail(xs[i], g_error_copy(why));
}

static gboolean reg_all_done(RegXfer **xs, guint n, RegXfer **failed)
{
	gboolean all = TRUE;
	for (guint i = 0; i < n; i++) {
		if (!xs[i]->done)
			all = FALSE;
		else if (xs[i]->result != NULL && *failed == NULL)
			*failed = xs[i];
	}
	return all;
}

/* When the next waiting transfer is due: now for one that may start at
 * once, G_MAXINT64 when none waits. */
static gint64 reg_next_due(RegXfer **xs, guint n, guint parallel)
{
	gint64 next = G_MAXINT64, now = g_get_monotonic_time();
	guint active = 0;
	for (guint i = 0; i < n; i++)
		active += xs[i]->active;
	for (guint i = 0; i < n; i++)
		if (!xs[i]->done && !xs[i]->active &&
		    (active < parallel || xs[i]->start_at > now))
			next = MIN(next, xs[i]->start_at);
	return next;
}

static void reg_wait(RegistryClient *c, RegXfer **xs, guint n, guint parallel)
{
	gint64 ms = REG_POLL_MS, next = reg_next_due(xs, n, parallel);
	gboolean active = FALSE;
	for (guint i = 0; i < n; i++)
		active |= xs[i]->active;
	if (next != G_MAXINT64)
		ms = CLAMP((next - g_get_monotonic_time()) / 1000, 0, ms);
	if (c->deadline != 0)
		ms = MIN(ms, registry_time_left_ms(c));
	if (active)
		curl_multi_poll(c->multi, NULL, 0, (int)ms, NULL);
	else if (ms > 0 && next != G_MAXINT64)
		g_usleep(ms * 1000);
}

gboolean registry_run(RegistryClient *c, RegXfer **xs, guint n, guint parallel,
		      gboolean fail_fast, GError **error)
{
	RegXfer *failed = NULL;
	for (;;) {
		g_autoptr(GError) stop = NULL;
		if (registry_check_stop(c, &stop))
			reg_stop_all(xs, n, stop);
		if (failed == NULL && reg_all_done(xs, n, &failed))
			break;
		if (failed != NULL && fail_fast) {
			g_autoptr(GError) why = g_error_new(
				BERTH_ERROR, BERTH_ERROR_CANCELLED,
				"stopped: %s", failed->result->message);
			reg_stop_all(xs, n, why);
		}
		if (reg_all_done(xs, n, &failed))
			break;
		guint active = 0;
		for (guint i = 0; i < n; i++)
			active += xs[i]->active;
		reg_start_due(xs, n, parallel, &active);
		int running = 0;
		curl_multi_perform(c->multi, &running);
		reg_drain_messages(c);
		reg_wait(c, xs, n, parallel);
	}
	if (failed != NULL) {
		g_propagate_error(error, g_error_copy(failed->result));
		return FALSE;
	}
	return TRUE;
}
