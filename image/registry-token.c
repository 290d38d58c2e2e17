/* Registry authentication for the client: which Authorization header a
 * request carries, what a 401 challenge asks for, the Docker token
 * protocol (GET realm?service&scope with Basic credentials, or an OAuth2
 * refresh_token POST for identity tokens) and a per-client token cache,
 * plus the curl options every request shares. */
#include "image/registry-private.h"

#include <string.h>

#include "image/json.h"
#include "util/error.h"
#include "util/log.h"

#ifndef BERTH_VERSION
#define BERTH_VERSION "dev"
#endif

void registry_token_free(RegToken *t)
{
	if (t == NULL)
		return;
	if (t->token)
		explicit_bzero(t->token, strlen(t->token));
	g_free(t->token);
	g_free(t);
}

gint64 registry_time_left_ms(const RegistryClient *c)
{
	if (c->deadline == 0)
		return G_MAXINT64;
	gint64 left = (c->deadline - g_get_monotonic_time()) / 1000;
	return MAX(left, 1);
}

gboolean registry_check_stop(RegistryClient *c, GError **error)
{
	if (c->cancelled != NULL && c->cancelled(c->cancel_data)) {
		berth_throw(error, CANCELLED, "pull cancelled");
		return TRUE;
	}
	if (c->deadline != 0 && g_get_monotonic_time() >= c->deadline) {
		berth_throw(error, DEADLINE_EXCEEDED,
			    "deadline exceeded while talking to the registry");
		return TRUE;
	}
	return FALSE;
}

void registry_easy_common(RegistryClient *c, CURL *easy, gboolean insecure)
{
	gint64 left = registry_time_left_ms(c);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, c->user_agent);
	if (left != G_MAXINT64)
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)MIN(left, REG_CONNECT_TIMEOUT_MS));
	/* A transfer that stalls is a connection error (and retried). */
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)c->stall_seconds);
	if (insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

static gboolean reg_load_creds(RegistryClient *c, RegEp *e, GError **error)
{
	if (e->creds_loaded)
		return TRUE;
	e->creds = auth_for_endpoint(c->credentials, c->credentials_for,
				     c->auth_file, e->ep->host, e->ep->repo,
				     e->is_source, error);
	if (e->creds == NULL && error && *error)
		return FALSE;
	e->creds_loaded = TRUE;
	return TRUE;
}

char *registry_auth_header(RegistryClient *c, RegEp *e, GError **error)
{
	if (!reg_load_creds(c, e, error))
		return NULL;
	if (e->creds && e->creds->registry_token)
		return g_strconcat("Bearer ", e->creds->registry_token, NULL);
	if (e->scheme == REG_AUTH_BASIC)
		return auth_basic_header(e->creds);
	if (e->scheme != REG_AUTH_BEARER || e->token_key == NULL)
		return NULL;
	RegToken *t = g_hash_table_lookup(c->tokens, e->token_key);
	if (t == NULL || t->expires <= g_get_monotonic_time())
		return NULL;
	return g_strconcat("Bearer ", t->token, NULL);
}

void registry_auth_fail(RegistryClient *c, RegEp *e, long status,
			const char *detail, GError **error)
{
	const char *host = e->ep->host, *repo = e->ep->repo;
	(void)c;
	if (status == 403) {
		berth_throw(error, PERMISSION_DENIED,
			    "registry %s: access to %s denied (403 Forbidden)"
			    "%s%s",
			    host, repo,
			    e->creds ? "" : " and no credentials were given",
			    detail);
	} else if (e->creds == NULL) {
		berth_throw(error, UNAUTHENTICATED,
			    "registry %s: %s needs credentials and none were "
			    "given (401 Unauthorized)%s",
			    host, repo, detail);
	} else {
		berth_throw(error, UNAUTHENTICATED,
			    "registry %s: credentials%s%s%s for %s were "
			    "rejected (401 Unauthorized)%s",
			    host, e->creds->username ? " of user \"" : "",
			    e->creds->username ? e->creds->username : "",
			    e->creds->username ? "\"" : "", repo, detail);
	}
}

/* ---- the token service -------------------------------------------------- */

static size_t reg_token_body(char *buf, size_t size, size_t n, void *data)
{
	GByteArray *body = data;
	gsize len = size * n;
	if (body->len + len > REG_TOKEN_MAX_SIZE)
		return 0;
	g_byte_array_append(body, (const guint8 *)buf, len);
	return len;
}

static int reg_token_progress(void *data, curl_off_t a, curl_off_t b,
			      curl_off_t c2, curl_off_t d)
{
	RegistryClient *c = data;
	(void)a, (void)b, (void)c2, (void)d;
	return c->cancelled != NULL && c->cancelled(c->cancel_data);
}

static char *reg_token_url(CURL *easy, const char *realm, const char *service,
			   const char *scope)
{
	GString *url = g_string_new(realm);
	char sep = strchr(realm, '?') ? '&' : '?';
	if (service != NULL) {
		char *v = curl_easy_escape(easy, service, 0);
		g_string_append_printf(url, "%cservice=%s", sep, v);
		curl_free(v);
		sep = '&';
	}
	if (scope != NULL) {
		char *v = curl_easy_escape(easy, scope, 0);
		g_string_append_printf(url, "%cscope=%s", sep, v);
		curl_free(v);
	}
	return g_string_free(url, FALSE);
}

/* The OAuth2 form Docker clients POST with an identity token. */
static char *reg_token_form(CURL *easy, const AuthCredentials *creds,
			    const char *service, const char *scope)
{
	char *tok = curl_easy_escape(easy, creds->identity_token, 0);
	char *svc = curl_easy_escape(easy, service ? service : "", 0);
	char *scp = curl_easy_escape(easy, scope ? scope : "", 0);
	char *form = g_strdup_printf("grant_type=refresh_token&client_id=berth"
				     "&refresh_token=%s&service=%s&scope=%s",
				     tok, svc, scp);
	explicit_bzero(tok, strlen(tok));
	curl_free(tok);
	curl_free(svc);
	curl_free(scp);
	return form;
}

static RegToken *reg_token_parse(const GByteArray *body, const char *realm,
				 GError **error)
{
	json_error_t jerr;
	g_autoptr(json_t) root =
		json_loadb((const char *)body->data, body->len, 0, &jerr);
	const char *tok = NULL;
	if (json_is_object(root)) {
		tok = json_string_value(json_object_get(root, "token"));
		if (tok == NULL || *tok == '\0')
			tok = json_string_value(
				json_object_get(root, "access_token"));
	}
	if (tok == NULL || *tok == '\0') {
		return berth_throw_null(
			error, UNAVAILABLE,
			"token service %s: no token in its answer", realm);
	}
	json_t *exp = json_object_get(root, "expires_in");
	gint64 secs = json_is_integer(exp) ? json_integer_value(exp) : 60;
	secs = MAX(secs, 60);
	RegToken *t = g_new0(RegToken, 1);
	t->token = g_strdup(tok);
	t->expires = g_get_monotonic_time() +
		     (secs - MIN(secs / 10, 30)) * G_USEC_PER_SEC;
	return t;
}

static void reg_token_status_error(RegEp *e, const char *realm, long status,
				   GError **error)
{
	const AuthCredentials *cr = e->creds;
	if (status == 401 && cr != NULL)
		berth_throw(error, UNAUTHENTICATED,
			    "registry %s: token service %s rejected the "
			    "credentials%s%s%s (401)",
			    e->ep->host, realm,
			    cr->username ? " of user \"" : "",
			    cr->username ? cr->username : "",
			    cr->username ? "\"" : "");
	else if (status == 401)
		berth_throw(error, UNAUTHENTICATED,
			    "registry %s: token service %s needs credentials "
			    "and none were given (401)",
			    e->ep->host, realm);
	else if (status == 403)
		berth_throw(error, PERMISSION_DENIED,
			    "registry %s: token service %s denied access to "
			    "%s (403)",
			    e->ep->host, realm, e->ep->repo);
	else
		berth_throw(error, UNAVAILABLE,
			    "registry %s: token service %s: HTTP %ld",
			    e->ep->host, realm, status);
}

static RegToken *reg_fetch_token(RegistryClient *c, RegEp *e, const char *realm,
				 const char *service, const char *scope,
				 GError **error)
{
	g_autoptr(GByteArray) body = g_byte_array_new();
	g_autofree char *form = NULL;
	CURL *easy = curl_easy_init();
	if (easy == NULL) {
		return berth_throw_null(error, RESOURCE_EXHAUSTED,
					"curl_easy_init");
	}
	g_autofree char *url = reg_token_url(easy, realm, service, scope);
	char curl_error[CURL_ERROR_SIZE] = "";
	registry_easy_common(c, easy, e->ep->insecure);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, reg_token_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_error);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, reg_token_progress);
	curl_easy_setopt(easy, CURLOPT_XFERINFODATA, c);
	if (e->creds && e->creds->identity_token) {
		form = reg_token_form(easy, e->creds, service, scope);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, form);
	} else if (e->creds && e->creds->username) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, e->creds->username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD,
				 e->creds->password ? e->creds->password : "");
	}
	log_debug("registry %s: token from %s (scope %s)", e->ep->host, realm,
		  scope ? scope : "none");
	CURLcode rc = curl_easy_perform(easy);
	long status = 0;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(easy);
	if (form)
		explicit_bzero(form, strlen(form));
	if (registry_check_stop(c, error))
		return NULL;
	if (rc == CURLE_WRITE_ERROR) {
		/* reg_token_body refused more: the answer passed the cap */
		return berth_throw_null(
			error, RESOURCE_EXHAUSTED,
			"registry %s: token service %s: answer larger than %d "
			"bytes",
			e->ep->host, realm, REG_TOKEN_MAX_SIZE);
	}
	if (rc != CURLE_OK) {
		return berth_throw_null(
			error, UNAVAILABLE, "registry %s: token service %s: %s",
			e->ep->host, realm,
			curl_error[0] ? curl_error : curl_easy_strerror(rc));
	}
	if (status != 200) {
		reg_token_status_error(e, realm, status, error);
		return NULL;
	}
	return reg_token_parse(body, realm, error);
}

/* The realm must be http(s), and plain http only for an insecure
 * registry: credentials go there. */
static gboolean reg_check_realm(RegEp *e, const char *realm, GError **error)
{
	if (g_str_has_prefix(realm, "https://") ||
	    (g_str_has_prefix(realm, "http://") && e->ep->insecure))
		return TRUE;
	return berth_throw(error, UNAUTHENTICATED,
			   "registry %s: refusing token realm \"%s\" (want "
			   "https, or http for an insecure registry)",
			   e->ep->host, realm);
}

static gboolean reg_bearer(RegistryClient *c, RegEp *e, const AuthChallenge *ch,
			   GError **error)
{
	const char *realm = auth_challenge_param(ch, "realm");
	const char *service = auth_challenge_param(ch, "service");
	const char *scope = auth_challenge_param(ch, "scope");
	g_autofree char *def_scope = NULL;
	if (realm == NULL || *realm == '\0')
		return berth_throw(error, UNAUTHENTICATED,
				   "registry %s: Bearer challenge without a "
				   "realm",
				   e->ep->host);
	if (!reg_check_realm(e, realm, error))
		return FALSE;
	if (scope == NULL)
		scope = def_scope =
			g_strdup_printf("repository:%s:pull", e->ep->repo);
	g_autofree char *key =
		g_strdup_printf("%s|%s|%s|%s", e->ep->host, realm,
				service ? service : "", scope);
	g_hash_table_remove(c->tokens, key);
	RegToken *t = reg_fetch_token(c, e, realm, service, scope, error);
	if (t == NULL)
		return FALSE;
	g_hash_table_insert(c->tokens, g_strdup(key), t);
	g_free(e->token_key);
	e->token_key = g_steal_pointer(&key);
	e->scheme = REG_AUTH_BEARER;
	return TRUE;
}

static GPtrArray *reg_parse_challenges(GPtrArray *www_auth)
{
	GPtrArray *all = g_ptr_array_new_with_free_func(
		(GDestroyNotify)auth_challenge_free);
	for (guint i = 0; i < www_auth->len; i++) {
		g_autoptr(GError) local = NULL;
		g_autoptr(GPtrArray) list =
			auth_challenges_parse(www_auth->pdata[i], &local);
		if (list == NULL) {
			log_debug("registry: ignoring WWW-Authenticate: %s",
				  local->message);
			continue;
		}
		for (guint k = 0; k < list->len; k++)
			g_ptr_array_add(all, g_steal_pointer(&list->pdata[k]));
	}
	return all;
}

gboolean registry_auth_challenge(RegistryClient *c, RegEp *e,
				 GPtrArray *www_auth, GError **error)
{
	if (!reg_load_creds(c, e, error))
		return FALSE;
	if (e->creds && e->creds->registry_token)
		return berth_throw(error, UNAUTHENTICATED,
				   "registry %s: the registry token given for "
				   "%s was rejected (401 Unauthorized)",
				   e->ep->host, e->ep->repo);
	g_autoptr(GPtrArray) all = reg_parse_challenges(www_auth);
	const AuthChallenge *bearer = auth_challenges_find(all, "Bearer");
	const AuthChallenge *basic = auth_challenges_find(all, "Basic");
	if (bearer != NULL)
		return reg_bearer(c, e, bearer, error);
	if (basic == NULL)
		return berth_throw(error, UNAUTHENTICATED,
				   "registry %s: 401 Unauthorized without a "
				   "Bearer or Basic challenge",
				   e->ep->host);
	/* Basic already sent and refused, or nothing to send. */
	if (e->scheme == REG_AUTH_BASIC || e->creds == NULL ||
	    e->creds->username == NULL)
		return FALSE;
	e->scheme = REG_AUTH_BASIC;
	return TRUE;
}
