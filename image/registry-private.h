/* Private to image/registry*.c: the client's state, one HTTP transfer
 * (RegXfer) and the engine that runs transfers on a curl multi handle,
 * and the authentication state of each endpoint. */
#pragma once

#include <curl/curl.h>

#include "image/digest.h"
#include "image/registry.h"

#define REG_MAX_REDIRECTS 5
#define REG_TOKEN_MAX_SIZE (1024 * 1024)
#define REG_ERROR_BODY_MAX (64 * 1024)
#define REG_CONNECT_TIMEOUT_MS 15000
#define REG_STALL_SECONDS 30
#define REG_POLL_MS 100

typedef enum {
	REG_AUTH_NONE,
	REG_AUTH_BASIC,
	REG_AUTH_BEARER,
} RegAuthScheme;

/* What the client knows about one endpoint. */
typedef struct {
	const RegistryEndpoint *ep;
	gboolean is_source;
	char *api_host;	   /* docker.io → registry-1.docker.io */
	gboolean use_http; /* insecure and https failed: plain http */
	gboolean https_ok; /* https answered once: no http fallback */
	AuthCredentials *creds;
	gboolean creds_loaded;
	RegAuthScheme scheme;
	char *token_key; /* into RegistryClient.tokens for Bearer */
} RegEp;

typedef struct {
	char *token;
	gint64 expires; /* monotonic µs */
} RegToken;

struct RegistryClient {
	GPtrArray *eps; /* RegEp* */
	guint first_ep; /* where the last manifest came from */
	gboolean served;
	AuthCredentials *credentials;
	char *credentials_for;
	char *auth_file;
	gint64 deadline;
	RegistryCancelled cancelled;
	gpointer cancel_data;
	guint max_parallel;
	guint stall_seconds;
	guint max_tries;
	guint backoff_ms;
	CURLM *multi;
	GHashTable *tokens; /* "host|realm|service|scope" → RegToken* */
	char *user_agent;
};

typedef enum {
	REG_XFER_MANIFEST,
	REG_XFER_BLOB,
} RegXferKind;

/* One resource fetched through the endpoints, with its retries. */
typedef struct {
	RegistryClient *client;
	RegXferKind kind;
	char *what;   /* "manifest latest", "blob sha256:…" */
	char *suffix; /* "manifests/<ref>" or "blobs/<digest>" */
	char *digest; /* expected; NULL for a manifest by tag */
	gint64 size;  /* expected; -1 unknown */
	gsize max;    /* body cap when buffered */
	const RegistryBlobSink *sink; /* NULL: buffer the body */
	GByteArray *body;
	DigestVerifier *verifier; /* streamed blobs */
	guint64 delivered;	  /* bytes handed to the sink */
	gboolean sink_done;

	guint ep;    /* index into client->eps */
	guint tries; /* on this endpoint */
	guint auth_tries;
	guint redirects;
	char *url;
	gboolean foreign; /* redirected to another origin: no credentials */
	gint64 start_at;  /* monotonic µs; 0 = at once */
	gboolean active;
	gboolean done;
	GError *result; /* final error; NULL when done and fine */

	/* The current attempt. */
	CURL *easy;
	struct curl_slist *headers;
	char curl_error[CURL_ERROR_SIZE];
	long status;
	char *content_type;
	char *docker_digest;
	char *location;
	char *retry_after;
	char *content_range;
	GPtrArray *www_auth; /* char*, every WWW-Authenticate value */
	GByteArray *err_body;
	guint64 skip;  /* bytes of a 200 to drop when resuming */
	GError *abort; /* set by a callback that stopped the transfer */
} RegXfer;

/* registry-http.c */
RegXfer *registry_xfer_new(RegistryClient *c, RegXferKind kind,
			   const char *what, const char *suffix,
			   const char *digest, gint64 size);
void registry_xfer_free(RegXfer *x);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegXfer, registry_xfer_free)
/* Run transfers to completion, parallel at once. With fail_fast the first
 * failure stops the rest (with CANCELLED). TRUE when all succeeded; else
 * the first failure in array order is copied into error. */
gboolean registry_run(RegistryClient *c, RegXfer **xs, guint n, guint parallel,
		      gboolean fail_fast, GError **error);
RegEp *registry_xfer_ep(const RegXfer *x);

/* registry-token.c */
/* The Authorization value for a request to ep now, or NULL. */
char *registry_auth_header(RegistryClient *c, RegEp *ep, GError **error);
/* React to a 401 carrying challenges: load credentials, fetch a token or
 * switch to Basic. TRUE when the request should be sent again; FALSE with
 * the error to report otherwise. */
gboolean registry_auth_challenge(RegistryClient *c, RegEp *ep,
				 GPtrArray *www_auth, GError **error);
/* The final error for a 401 / 403 from ep. */
void registry_auth_fail(RegistryClient *c, RegEp *ep, long status,
			const char *detail, GError **error);
void registry_token_free(RegToken *t);
/* Time left before the deadline in ms, at least 1; G_MAXINT64 if none. */
gint64 registry_time_left_ms(const RegistryClient *c);
/* Set the options every request shares (timeouts, TLS, user agent). */
void registry_easy_common(RegistryClient *c, CURL *easy, gboolean insecure);
/* Is the pull cancelled or past its deadline? Sets error then. */
gboolean registry_check_stop(RegistryClient *c, GError **error);
