/* Registry credentials: the ones a caller passes with a pull (CRI's
 * AuthConfig, converted by server/), the containers-auth.json(5) /
 * Docker config.json file, and the WWW-Authenticate challenges a registry
 * answers with. Secrets never appear in errors or logs. */
#pragma once

#include <glib.h>

typedef struct {
	char *username; /* with password: Basic auth, or token service login */
	char *password;
	char *identity_token; /* OAuth2 refresh token for the token service */
	char *registry_token; /* a bearer token sent to the registry as is */
} AuthCredentials;

/* What a pull request carries (CRI AuthConfig); any field may be NULL or
 * "". auth is base64 "user:password". */
typedef struct {
	const char *username;
	const char *password;
	const char *auth;
	const char *server_address;
	const char *identity_token;
	const char *registry_token;
} AuthConfig;

void auth_credentials_free(AuthCredentials *c);
AuthCredentials *auth_credentials_copy(const AuthCredentials *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthCredentials, auth_credentials_free)

/* Credentials from an AuthConfig: registry_token, identity_token,
 * username/password and auth all kept; an explicit username wins over the
 * one in auth. NULL without error when the config carries nothing;
 * INVALID_ARGUMENT when auth is not base64 "user:password". */
AuthCredentials *auth_credentials_from_config(const AuthConfig *config,
					      GError **error);

/* Decode base64 "user:password" (the password may contain ':'). */
gboolean auth_decode_basic(const char *b64, char **user, char **password,
			   GError **error);

/* "Basic <base64 user:password>", or NULL without a username. */
char *auth_basic_header(const AuthCredentials *c);

/* A registry key as written in auth files or a CRI server_address, as
 * "host[/path]": schemes and Docker's legacy "/v1/" URL paths stripped,
 * index.docker.io and registry-1.docker.io mapped to docker.io. */
char *auth_normalize_key(const char *key);

/* The entry for host/repo in an auth.json document, the most specific key
 * first: "host/a/b", "host/a", "host". NULL without error when there is
 * none. what names the document in errors. */
AuthCredentials *auth_json_lookup(const char *text, gsize len, const char *what,
				  const char *host, const char *repo,
				  GError **error);

/* auth_json_lookup on a file; a missing file (or path NULL or "") has no
 * entries. */
AuthCredentials *auth_file_lookup(const char *path, const char *host,
				  const char *repo, GError **error);

/* The credentials for one endpoint of a pull. given (from the request)
 * applies to the pull's source registry: when is_source, or when its
 * server_address (given_for, normalized, may be NULL) names host. Else the
 * auth file decides. NULL without error when there are none. */
AuthCredentials *auth_for_endpoint(const AuthCredentials *given,
				   const char *given_for, const char *auth_file,
				   const char *host, const char *repo,
				   gboolean is_source, GError **error);

/* One challenge of a WWW-Authenticate header (RFC 7235). */
typedef struct {
	char *scheme;	    /* as written; compare case-insensitively */
	char *token68;	    /* NULL unless the challenge carried one */
	GHashTable *params; /* lowercased name → unquoted value */
} AuthChallenge;

void auth_challenge_free(AuthChallenge *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthChallenge, auth_challenge_free)

/* Parse a WWW-Authenticate value into its challenges (AuthChallenge*), in
 * order; a pure function. INVALID_ARGUMENT with the offset of the problem
 * on malformed input (unterminated quotes, a parameter without value, a
 * repeated parameter, stray characters). */
GPtrArray *auth_challenges_parse(const char *header, GError **error);

/* The param of a challenge (name in any case), or NULL. */
const char *auth_challenge_param(const AuthChallenge *c, const char *name);

/* The first challenge of the given scheme (any case), or NULL. */
const AuthChallenge *auth_challenges_find(GPtrArray *challenges,
					  const char *scheme);
