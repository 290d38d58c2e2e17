/* Credentials for registry requests: CRI AuthConfig conversion, auth.json
 * lookup (containers-auth.json(5)), and an RFC 7235 WWW-Authenticate
 * parser. Error messages name keys and files, never secret values. */
#include "image/auth.h"

#include <string.h>

#include "image/json.h"
#include "util/error.h"
#include "util/fs.h"

/* ---- credentials ------------------------------------------------------ */

static void auth_free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	g_free(s);
}

void auth_credentials_free(AuthCredentials *c)
{
	if (c == NULL)
		return;
	g_free(c->username);
	auth_free_secret(c->password);
	auth_free_secret(c->identity_token);
	auth_free_secret(c->registry_token);
	g_free(c);
}

AuthCredentials *auth_credentials_copy(const AuthCredentials *c)
{
	if (c == NULL)
		return NULL;
	AuthCredentials *out = g_new0(AuthCredentials, 1);
	out->username = g_strdup(c->username);
	out->password = g_strdup(c->password);
	out->identity_token = g_strdup(c->identity_token);
	out->registry_token = g_strdup(c->registry_token);
	return out;
}

static gboolean auth_empty(const char *s)
{
	return s == NULL || *s == '\0';
}

static gboolean auth_is_base64(const char *s)
{
	gsize len = strlen(s), pad = 0;
	for (gsize i = 0; i < len; i++) {
		char c = s[i];
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || !(g_ascii_isalnum(c) || c == '+' || c == '/'))
			return FALSE;
	}
	return len % 4 == 0 && pad <= 2;
}

gboolean auth_decode_basic(const char *b64, char **user, char **password,
			   GError **error)
{
	if (b64 == NULL || !auth_is_base64(b64))
		return berth_throw(error, INVALID_ARGUMENT,
				   "credentials are not valid base64");
	gsize len = 0;
	guchar *raw = g_base64_decode(b64, &len);
	char *text = g_strndup((const char *)raw, len);
	explicit_bzero(raw, len);
	g_free(raw);
	char *colon = strchr(text, ':');
	if (colon == NULL || strlen(text) != len || colon == text) {
		auth_free_secret(text);
		return berth_throw(error, INVALID_ARGUMENT,
				   "credentials are not base64 "
				   "\"user:password\"");
	}
	*user = g_strndup(text, colon - text);
	*password = g_strdup(colon + 1);
	auth_free_secret(text);
	return TRUE;
}

AuthCredentials *auth_credentials_from_config(const AuthConfig *config,
					      GError **error)
{
	g_autoptr(AuthCredentials) c = g_new0(AuthCredentials, 1);
	if (config == NULL)
		return NULL;
	if (!auth_empty(config->auth) &&
	    !auth_decode_basic(config->auth, &c->username, &c->password,
			       error)) {
		g_prefix_error(error, "auth config: ");
		return NULL;
	}
	if (!auth_empty(config->username)) {
		g_free(c->username);
		auth_free_secret(c->password);
		c->username = g_strdup(config->username);
		c->password =
			g_strdup(config->password ? config->password : "");
	}
	if (!auth_empty(config->identity_token))
		c->identity_token = g_strdup(config->identity_token);
	if (!auth_empty(config->registry_token))
		c->registry_token = g_strdup(config->registry_token);
	if (c->username == NULL && c->identity_token == NULL &&
	    c->registry_token == NULL)
		return NULL;
	return g_steal_pointer(&c);
}

char *auth_basic_header(const AuthCredentials *c)
{
	if (c == NULL || c->username == NULL)
		return NULL;
	g_autofree char *pair = g_strconcat(
		c->username, ":", c->password ? c->password : "", NULL);
	g_autofree char *b64 =
		g_base64_encode((const guchar *)pair, strlen(pair));
	explicit_bzero(pair, strlen(pair));
	return g_strconcat("Basic ", b64, NULL);
}

/* ---- auth.json -------------------------------------------------------- */

char *auth_normalize_key(const char *key)
{
	gboolean url = FALSE;
	if (g_str_has_prefix(key, "https://")) {
		key += strlen("https://");
		url = TRUE;
	} else if (g_str_has_prefix(key, "http://")) {
		key += strlen("http://");
		url = TRUE;
	}
	/* Docker writes URLs such as "https://index.docker.io/v1/": only the
	 * host of those means anything. */
	gsize hlen = strcspn(key, "/");
	g_autofree char *host = g_strndup(key, hlen);
	const char *path = url ? "" : key + hlen;
	if (strcmp(host, "index.docker.io") == 0 ||
	    strcmp(host, "registry-1.docker.io") == 0) {
		g_free(host);
		host = g_strdup("docker.io");
	}
	char *out = g_strconcat(host, path, NULL);
	gsize len = strlen(out);
	while (len > 0 && out[len - 1] == '/')
		out[--len] = '\0';
	return out;
}

/* The credentials of one "auths" entry; NULL without error when it has
 * none usable. */
static AuthCredentials *auth_json_entry(json_t *entry, const char *what,
					const char *key, GError **error)
{
	g_autoptr(AuthCredentials) c = g_new0(AuthCredentials, 1);
	if (!json_is_object(entry)) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s: auths \"%s\" is not an object",
					what, key);
	}
	json_t *auth = json_object_get(entry, "auth");
	json_t *idt = json_object_get(entry, "identitytoken");
	if ((auth && !json_is_string(auth)) || (idt && !json_is_string(idt))) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"%s: auths \"%s\": auth and identitytoken must "
			"be strings",
			what, key);
	}
	if (auth && *json_string_value(auth) != '\0' &&
	    !auth_decode_basic(json_string_value(auth), &c->username,
			       &c->password, error)) {
		g_prefix_error(error, "%s: auths \"%s\": ", what, key);
		return NULL;
	}
	if (idt && *json_string_value(idt) != '\0')
		c->identity_token = g_strdup(json_string_value(idt));
	if (c->username == NULL && c->identity_token == NULL)
		return NULL;
	return g_steal_pointer(&c);
}

/* The key of auths that names want: written exactly so, or normalizing
 * to it (exact spellings win). */
static json_t *auth_json_find(json_t *auths, const char *want,
			      const char **key_out)
{
	const char *key;
	json_t *value, *found = NULL;
	json_object_foreach(auths, key, value)
	{
		if (strcmp(key, want) == 0) {
			*key_out = key;
			return value;
		}
		g_autofree char *norm = auth_normalize_key(key);
		if (found == NULL && strcmp(norm, want) == 0) {
			found = value;
			*key_out = key;
		}
	}
	return found;
}

static json_t *auth_json_auths(const char *text, gsize len, const char *what,
			       json_t **root_out, GError **error)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	*root_out = root;
	if (root == NULL) {
		return berth_throw_null(error, INVALID_ARGUMENT, "%s:%d:%d: %s",
					what, jerr.line, jerr.column,
					jerr.text);
	}
	json_t *auths =
		json_is_object(root) ? json_object_get(root, "auths") : NULL;
	if (!json_is_object(root) || (auths && !json_is_object(auths))) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"%s: want an object with an \"auths\" object", what);
	}
	return auths ? auths : json_object();
}

AuthCredentials *auth_json_lookup(const char *text, gsize len, const char *what,
				  const char *host, const char *repo,
				  GError **error)
{
	g_autoptr(json_t) root = NULL;
	json_t *auths = auth_json_auths(text, len, what, &root, error);
	if (auths == NULL)
		return NULL;
	g_autoptr(json_t) owned = json_object_get(root, "auths") ? NULL : auths;
	g_autofree char *norm_host = auth_normalize_key(host);
	g_autofree char *want = g_strconcat(norm_host, repo && *repo ? "/" : "",
					    repo ? repo : "", NULL);
	for (;;) {
		const char *key = NULL;
		json_t *entry = auth_json_find(auths, want, &key);
		if (entry != NULL) {
			g_autoptr(GError) local = NULL;
			AuthCredentials *c =
				auth_json_entry(entry, what, key, &local);
			if (c != NULL || local != NULL) {
				if (local)
					g_propagate_error(
						error, g_steal_pointer(&local));
				return c;
			}
		}
		char *slash = strrchr(want, '/');
		if (slash == NULL)
			return NULL;
		*slash = '\0';
	}
}

AuthCredentials *auth_file_lookup(const char *path, const char *host,
				  const char *repo, GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (path == NULL || *path == '\0')
		return NULL;
	if (!berth_read_file(path, &text, &len, &local)) {
		if (g_error_matches(local, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
			return NULL;
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	AuthCredentials *c =
		auth_json_lookup(text, len, path, host, repo, error);
	explicit_bzero(text, len);
	return c;
}

AuthCredentials *auth_for_endpoint(const AuthCredentials *given,
				   const char *given_for, const char *auth_file,
				   const char *host, const char *repo,
				   gboolean is_source, GError **error)
{
	if (given != NULL) {
		g_autofree char *h = auth_normalize_key(host);
		g_autofree char *f = given_for && *given_for
					     ? auth_normalize_key(given_for)
					     : NULL;
		if (is_source || (f != NULL && (strcmp(f, h) == 0 ||
						(g_str_has_prefix(f, h) &&
						 f[strlen(h)] == '/'))))
			return auth_credentials_copy(given);
	}
	return auth_file_lookup(auth_file, host, repo, error);
}

/* ---- WWW-Authenticate ------------------------------------------------- */

void auth_challenge_free(AuthChallenge *c)
{
	if (c == NULL)
		return;
	g_free(c->scheme);
	g_free(c->token68);
	g_hash_table_unref(c->params);
	g_free(c);
}

typedef struct {
	const char *s;
	gsize pos;
} AuthLex;

static gboolean auth_is_tchar(char c)
{
	return g_ascii_isalnum(c) ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static gboolean auth_is_t68char(char c)
{
	return g_ascii_isalnum(c) || (c != '\0' && strchr("-._~+/", c));
}

static void auth_skip_ows(AuthLex *l)
{
	while (l->s[l->pos] == ' ' || l->s[l->pos] == '\t')
		l->pos++;
}

static char *auth_read_token(AuthLex *l)
{
	gsize start = l->pos;
	while (auth_is_tchar(l->s[l->pos]))
		l->pos++;
	return l->pos > start ? g_strndup(l->s + start, l->pos - start) : NULL;
}

static gboolean auth_lex_fail(AuthLex *l, const char *what, GError **error)
{
	return berth_throw(error, INVALID_ARGUMENT,
			   "malformed WWW-Authenticate header at offset %zu: "
			   "%s",
			   l->pos, what);
}

static char *auth_read_quoted(AuthLex *l, GError **error)
{
	GString *out = g_string_new(NULL);
	l->pos++; /* the opening quote */
	for (;;) {
		guchar c = l->s[l->pos];
		if (c == '"') {
			l->pos++;
			return g_string_free(out, FALSE);
		}
		if (c == '\\' && l->s[l->pos + 1] != '\0') {
			c = l->s[++l->pos];
		} else if (c == '\0' || (c < 0x20 && c != '\t') || c == 0x7f) {
			g_string_free(out, TRUE);
			auth_lex_fail(l,
				      c ? "control character in quoted string"
					: "unterminated quoted string",
				      error);
			return NULL;
		}
		g_string_append_c(out, c);
		l->pos++;
	}
}

/* A token68 ending the challenge ("Basic dXNlcjpwYXNz"), or nothing. */
static gboolean auth_try_token68(AuthLex *l, AuthChallenge *c)
{
	gsize start = l->pos;
	while (auth_is_t68char(l->s[l->pos]))
		l->pos++;
	if (l->pos == start) {
		return FALSE;
	}
	while (l->s[l->pos] == '=')
		l->pos++;
	gsize end = l->pos;
	auth_skip_ows(l);
	if (l->s[l->pos] == '\0' || l->s[l->pos] == ',') {
		c->token68 = g_strndup(l->s + start, end - start);
		return TRUE;
	}
	l->pos = start;
	return FALSE;
}

/* After a comma: does a parameter (token BWS "=") follow, or the next
 * challenge's scheme? */
static gboolean auth_param_follows(const AuthLex *l)
{
	AuthLex peek = *l;
	g_autofree char *name = auth_read_token(&peek);
	auth_skip_ows(&peek);
	return name != NULL && peek.s[peek.pos] == '=';
}

static gboolean auth_skip_commas(AuthLex *l)
{
	gboolean any = FALSE;
	for (;;) {
		auth_skip_ows(l);
		if (l->s[l->pos] != ',')
			return any;
		l->pos++;
		any = TRUE;
	}
}

static gboolean auth_read_param(AuthLex *l, AuthChallenge *c, GError **error)
{
	g_autofree char *name = auth_read_token(l);
	if (name == NULL)
		return auth_lex_fail(l, "expected a parameter name", error);
	auth_skip_ows(l);
	if (l->s[l->pos] != '=')
		return auth_lex_fail(l, "expected '='", error);
	l->pos++;
	auth_skip_ows(l);
	g_autofree char *value = l->s[l->pos] == '"'
					 ? auth_read_quoted(l, error)
					 : auth_read_token(l);
	if (value == NULL)
		return error && *error ? FALSE
				       : auth_lex_fail(l,
						       "parameter without a "
						       "value",
						       error);
	char *lower = g_ascii_strdown(name, -1);
	if (g_hash_table_contains(c->params, lower)) {
		g_free(lower);
		return auth_lex_fail(l, "repeated parameter", error);
	}
	g_hash_table_insert(c->params, lower, g_steal_pointer(&value));
	return TRUE;
}

/* The parameters of one challenge, up to the next challenge or the end. */
static gboolean auth_read_params(AuthLex *l, AuthChallenge *c, GError **error)
{
	for (;;) {
		if (!auth_read_param(l, c, error))
			return FALSE;
		auth_skip_ows(l);
		if (l->s[l->pos] == '\0')
			return TRUE;
		if (l->s[l->pos] != ',')
			return auth_lex_fail(l, "expected ',' or the end",
					     error);
		auth_skip_commas(l);
		if (l->s[l->pos] == '\0' || !auth_param_follows(l))
			return TRUE;
	}
}

static AuthChallenge *auth_read_challenge(AuthLex *l, GError **error)
{
	g_autoptr(AuthChallenge) c = g_new0(AuthChallenge, 1);
	c->params =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->scheme = auth_read_token(l);
	if (c->scheme == NULL) {
		auth_lex_fail(l, "expected an auth scheme", error);
		return NULL;
	}
	char next = l->s[l->pos];
	if (next == '\0' || next == ',')
		return g_steal_pointer(&c);
	if (next != ' ' && next != '\t') {
		auth_lex_fail(l, "expected a space after the scheme", error);
		return NULL;
	}
	auth_skip_ows(l);
	if (l->s[l->pos] == '\0' || l->s[l->pos] == ',' ||
	    auth_try_token68(l, c))
		return g_steal_pointer(&c);
	if (!auth_read_params(l, c, error))
		return NULL;
	return g_steal_pointer(&c);
}

GPtrArray *auth_challenges_parse(const char *header, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)auth_challenge_free);
	AuthLex l = {.s = header ? header : "", .pos = 0};
	for (;;) {
		auth_skip_commas(&l);
		if (l.s[l.pos] == '\0')
			break;
		AuthChallenge *c = auth_read_challenge(&l, error);
		if (c == NULL)
			return NULL;
		g_ptr_array_add(out, c);
	}
	if (out->len == 0) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"empty WWW-Authenticate header");
	}
	return g_steal_pointer(&out);
}

const char *auth_challenge_param(const AuthChallenge *c, const char *name)
{
	g_autofree char *lower = g_ascii_strdown(name, -1);
	return g_hash_table_lookup(c->params, lower);
}

const AuthChallenge *auth_challenges_find(GPtrArray *challenges,
					  const char *scheme)
{
	for (guint i = 0; challenges && i < challenges->len; i++) {
		const AuthChallenge *c = challenges->pdata[i];
		if (g_ascii_strcasecmp(c->scheme, scheme) == 0)
			return c;
	}
	return NULL;
}
