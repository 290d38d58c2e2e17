/* registry-fetch: drive the registry client the way a pull will, for the
 * integration tests. Resolves IMAGE through registries.conf, fetches its
 * manifest (and the platform's manifest from an index), the config and
 * every layer in parallel into OUTDIR/blobs/sha256/, and prints one JSON
 * object: what was fetched from where, or {"error": {code, message}}.
 *
 *   registry-fetch [options] IMAGE OUTDIR
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/json.h"
#include "image/registry.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

typedef struct {
	const char *registries_conf;
	GPtrArray *insecure;
	const char *auth_file;
	AuthConfig auth;
	double timeout;
	guint parallel, tries, backoff_ms;
	const char *platform;
	gint64 cancel_after_ms;
	gboolean manifest_only;
	gint64 started;
} Opts;

typedef struct {
	char *digest;
	char *tmp;
	char *path;
	int fd;
	guint64 written;
	int finished, aborted;
} FileSink;

static gboolean fetch_cancelled(gpointer data)
{
	const Opts *o = data;
	return o->cancel_after_ms > 0 &&
	       g_get_monotonic_time() - o->started > o->cancel_after_ms * 1000;
}

/* ---- sinks: OUTDIR/blobs/sha256/<hex>.partial, renamed on finish ---- */

static gboolean sink_write(gpointer data, const void *buf, gsize len,
			   GError **error)
{
	FileSink *s = data;
	const char *p = buf;
	while (len > 0) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_throw_errno(error, errno, "write %s",
						 s->tmp);
		p += n;
		len -= n;
		s->written += n;
	}
	return TRUE;
}

static gboolean sink_finish(gpointer data, GError **error)
{
	FileSink *s = data;
	s->finished++;
	close(s->fd);
	s->fd = -1;
	if (rename(s->tmp, s->path) < 0)
		return berth_throw_errno(error, errno, "rename %s", s->tmp);
	return TRUE;
}

static void sink_abort(gpointer data, const GError *why)
{
	FileSink *s = data;
	(void)why;
	s->aborted++;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	unlink(s->tmp);
}

static char *blob_path(const char *outdir, const char *digest)
{
	return g_build_filename(outdir, "blobs", "sha256",
				strchr(digest, ':') + 1, NULL);
}

static gboolean save(const char *outdir, const char *digest, GBytes *data,
		     GError **error)
{
	g_autofree char *path = blob_path(outdir, digest);
	gsize len;
	const void *p = g_bytes_get_data(data, &len);
	return berth_write_file_atomic(path, p, len, 0644, error);
}

/* ---- the pull ----------------------------------------------------------- */

static RegistryManifest *fetch_image_manifest(RegistryClient *c,
					      const ImageRef *ref,
					      const Opts *o, json_t *out,
					      GError **error)
{
	const char *reference = ref->digest ? ref->digest : ref->tag;
	g_autoptr(RegistryManifest) m =
		registry_get_manifest(c, reference, error);
	if (m == NULL || !image_manifest_kind_is_index(m->kind))
		return g_steal_pointer(&m);
	json_object_set_new(out, "index", json_string(m->digest));
	g_autoptr(ImageIndex) index = NULL;
	gsize len;
	const char *body = g_bytes_get_data(m->body, &len);
	if (!image_index_parse(body, len, m->media_type, &index, error))
		return NULL;
	g_auto(GStrv) plat = g_strsplit(o->platform, "/", 3);
	const ImageIndexEntry *e = image_index_select(
		index, plat[0], plat[1], plat[1] ? plat[2] : NULL, error);
	if (e == NULL)
		return NULL;
	return registry_get_manifest(c, e->desc.digest, error);
}

static gboolean fetch_layers(RegistryClient *c, const ImageManifest *im,
			     const char *outdir, json_t *out, GError **error)
{
	guint n = im->layers->len;
	g_autofree RegistryBlobRequest *reqs = g_new0(RegistryBlobRequest, n);
	g_autofree FileSink *sinks = g_new0(FileSink, n);
	json_t *layers = json_array(), *aborted = json_array();
	json_object_set_new(out, "layers", layers);
	json_object_set_new(out, "aborted", aborted);
	for (guint i = 0; i < n; i++) {
		const ImageLayer *l = im->layers->pdata[i];
		sinks[i].digest = l->desc.digest;
		sinks[i].path = blob_path(outdir, l->desc.digest);
		sinks[i].tmp = g_strconcat(sinks[i].path, ".partial", NULL);
		sinks[i].fd =
			open(sinks[i].tmp,
			     O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (sinks[i].fd < 0)
			return berth_throw_errno(error, errno, "open %s",
						 sinks[i].tmp);
		reqs[i] = (RegistryBlobRequest){
			.digest = l->desc.digest,
			.size = l->desc.size,
			.sink = {sink_write, sink_finish, sink_abort,
				 &sinks[i]},
		};
	}
	gboolean ok = registry_fetch_blobs(c, reqs, n, error);
	for (guint i = 0; i < n; i++) {
		if (sinks[i].finished + sinks[i].aborted != 1)
			g_error("sink of %s: finished %d, aborted %d",
				sinks[i].digest, sinks[i].finished,
				sinks[i].aborted);
		json_array_append_new(sinks[i].finished ? layers : aborted,
				      json_string(sinks[i].digest));
		g_clear_error(&reqs[i].error);
		g_free(sinks[i].path);
		g_free(sinks[i].tmp);
	}
	return ok;
}

static gboolean fetch_from(RegistryClient *c, const ImageRef *ref,
			   const Opts *o, const char *outdir, json_t *out,
			   GError **error)
{
	g_autoptr(RegistryManifest) m =
		fetch_image_manifest(c, ref, o, out, error);
	if (m == NULL)
		return FALSE;
	const RegistryEndpoint *ep = m->endpoint;
	g_autofree char *where = g_strconcat(ep->host, "/", ep->repo, NULL);
	json_object_set_new(out, "endpoint", json_string(where));
	json_object_set_new(out, "mirror", json_boolean(ep->mirror));
	json_object_set_new(out, "manifest", json_string(m->digest));
	json_object_set_new(out, "media_type", json_string(m->media_type));
	if (!save(outdir, m->digest, m->body, error) || o->manifest_only)
		return o->manifest_only;
	g_autoptr(ImageManifest) im = NULL;
	gsize len;
	const char *body = g_bytes_get_data(m->body, &len);
	if (!image_manifest_parse(body, len, m->media_type, &im, error))
		return FALSE;
	g_autoptr(GBytes) config =
		registry_get_blob(c, im->config.digest, im->config.size,
				  IMAGE_CONFIG_MAX_SIZE, error);
	if (config == NULL || !save(outdir, im->config.digest, config, error))
		return FALSE;
	json_object_set_new(out, "config", json_string(im->config.digest));
	return fetch_layers(c, im, outdir, out, error);
}

static RegistryClient *make_client(GPtrArray *eps, const Opts *o,
				   const AuthCredentials *creds, GError **error)
{
	RegistryClientOptions co = {
		.endpoints = eps,
		.credentials = creds,
		.credentials_for = o->auth.server_address,
		.auth_file = o->auth_file,
		.deadline = o->timeout > 0
				    ? o->started + (gint64)(o->timeout *
							    G_USEC_PER_SEC)
				    : 0,
		.cancelled = fetch_cancelled,
		.cancel_data = (gpointer)o,
		.max_parallel = o->parallel,
		.max_tries = o->tries,
		.backoff_ms = o->backoff_ms,
	};
	return registry_client_new(&co, error);
}

/* Each candidate in turn; only "not found" moves on to the next one. */
static gboolean fetch(const char *image, const char *outdir, const Opts *o,
		      json_t *out, GError **error)
{
	g_autoptr(ImageRef) ref = NULL;
	g_autoptr(Registries) regs = NULL;
	g_autoptr(AuthCredentials) creds = NULL;
	g_autofree char *blobs =
		g_build_filename(outdir, "blobs", "sha256", NULL);
	g_ptr_array_add(o->insecure, NULL);
	if (!image_ref_parse(image, &ref, error) ||
	    !(regs = registries_load(o->registries_conf,
				     (const char *const *)o->insecure->pdata,
				     error)) ||
	    !berth_mkdir_p(blobs, 0755, error))
		return FALSE;
	creds = auth_credentials_from_config(&o->auth, error);
	if (creds == NULL && *error)
		return FALSE;
	g_autoptr(GPtrArray) cands = registries_candidates(regs, ref, error);
	for (guint i = 0; cands && i < cands->len; i++) {
		g_autoptr(GPtrArray) eps =
			registries_endpoints(regs, cands->pdata[i], error);
		if (eps == NULL)
			return FALSE;
		g_autoptr(RegistryClient) c = make_client(eps, o, creds, error);
		if (c == NULL)
			return FALSE;
		g_autofree char *name = image_ref_string(cands->pdata[i]);
		json_object_set_new(out, "reference", json_string(name));
		if (fetch_from(c, cands->pdata[i], o, outdir, out, error))
			return TRUE;
		if (i + 1 == cands->len ||
		    !g_error_matches(*error, BERTH_ERROR,
				     BERTH_ERROR_NOT_FOUND))
			return FALSE;
		g_clear_error(error);
	}
	return cands != NULL;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: registry-fetch [--registries-conf F] [--insecure H]... "
		"[--auth-file F]\n"
		"  [--user U:P] [--auth B64] [--identity-token T] "
		"[--registry-token T]\n"
		"  [--server-address S] [--timeout SECS] [--parallel N] "
		"[--tries N]\n"
		"  [--backoff-ms N] [--platform OS/ARCH[/V]] "
		"[--cancel-after-ms N]\n"
		"  [--manifest-only] [--debug] IMAGE OUTDIR\n");
	exit(2);
}

static void parse_user(Opts *o, const char *arg)
{
	const char *colon = strchr(arg, ':');
	if (colon == NULL)
		usage();
	o->auth.username = g_strndup(arg, colon - arg);
	o->auth.password = g_strdup(colon + 1);
}

static void parse_opts(int argc, char **argv, Opts *o)
{
	static const struct option longopts[] = {
		{"registries-conf", 1, 0, 'r'},
		{"insecure", 1, 0, 'i'},
		{"auth-file", 1, 0, 'a'},
		{"user", 1, 0, 'u'},
		{"auth", 1, 0, 'A'},
		{"identity-token", 1, 0, 'I'},
		{"registry-token", 1, 0, 'R'},
		{"server-address", 1, 0, 's'},
		{"timeout", 1, 0, 't'},
		{"parallel", 1, 0, 'p'},
		{"tries", 1, 0, 'T'},
		{"backoff-ms", 1, 0, 'b'},
		{"platform", 1, 0, 'P'},
		{"cancel-after-ms", 1, 0, 'c'},
		{"manifest-only", 0, 0, 'm'},
		{"debug", 0, 0, 'd'},
		{0, 0, 0, 0},
	};
	int ch;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o->registries_conf = optarg;
			break;
		case 'i':
			g_ptr_array_add(o->insecure, optarg);
			break;
		case 'a':
			o->auth_file = optarg;
			break;
		case 'u':
			parse_user(o, optarg);
			break;
		case 'A':
			o->auth.auth = optarg;
			break;
		case 'I':
			o->auth.identity_token = optarg;
			break;
		case 'R':
			o->auth.registry_token = optarg;
			break;
		case 's':
			o->auth.server_address = optarg;
			break;
		case 't':
			o->timeout = g_ascii_strtod(optarg, NULL);
			break;
		case 'p':
			o->parallel = atoi(optarg);
			break;
		case 'T':
			o->tries = atoi(optarg);
			break;
		case 'b':
			o->backoff_ms = atoi(optarg);
			break;
		case 'P':
			o->platform = optarg;
			break;
		case 'c':
			o->cancel_after_ms = atoll(optarg);
			break;
		case 'm':
			o->manifest_only = TRUE;
			break;
		case 'd':
			berth_log_set_level(BERTH_LOG_DEBUG);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
}

int main(int argc, char **argv)
{
	Opts o = {.platform = "linux/amd64",
		  .insecure = g_ptr_array_new(),
		  .started = g_get_monotonic_time()};
	g_autoptr(GError) error = NULL;
	parse_opts(argc, argv, &o);
	json_t *out = json_object();
	gboolean ok = fetch(argv[optind], argv[optind + 1], &o, out, &error);
	if (!ok) {
		json_t *err = json_pack("{s:i, s:s}", "code", error->code,
					"message", error->message);
		json_object_set_new(out, "error", err);
	}
	json_dumpf(out, stdout, JSON_SORT_KEYS);
	printf("\n");
	json_decref(out);
	g_ptr_array_unref(o.insecure);
	g_free((char *)o.auth.username);
	g_free((char *)o.auth.password);
	return ok ? 0 : 1;
}
