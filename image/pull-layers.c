/* The layers of one pull: each blob streams from the registry client into
 * a pipe whose read end an importer thread hands to the store, so a layer
 * is decompressed, verified and committed as it arrives and is never
 * staged whole. Layers the store has are claimed and skipped; a layer
 * another flight is downloading is waited for, not fetched twice. */
#include "image/pull-private.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* Big pipes let the client hand over whole chunks between wake-ups. */
#define PULL_PIPE_SIZE (1024 * 1024)
#define PULL_POLL_US (100 * G_TIME_SPAN_MILLISECOND)

typedef struct {
	const char *diff_id;
	const ImageLayer *layer;
	gboolean have; /* stored and claimed for this pull */
} WantedLayer;

/* One download: the write end for the client, the read end for the
 * importer thread. */
typedef struct {
	ImageStore *store;
	const char *diff_id;
	const char *digest;
	int rfd, wfd;
	GThread *thread;
	gint done;	  /* atomic: the import returned */
	gboolean ok;	  /* its result, valid once done */
	GError *error;	  /* its error, valid once done */
	gboolean discard; /* the store had the layer already */
} LayerSink;

/* --- one layer: pipe → importer thread ---------------------------------- */

static gpointer layer_import_main(gpointer data)
{
	LayerSink *s = data;
	GError *err = NULL;
	s->ok = image_store_import_layer_fd(s->store, s->diff_id, s->rfd, &err);
	s->error = err;
	g_atomic_int_set(&s->done, 1);
	/* Closed only now, so a writer that meets EPIPE finds the result. */
	close(s->rfd);
	return NULL;
}

/* The importer stopped reading before the blob ended: the store already
 * had the layer (drop the rest), or the import failed. */
static gboolean layer_sink_ended(LayerSink *s, GError **error)
{
	if (s->ok) {
		s->discard = TRUE;
		return TRUE;
	}
	g_propagate_error(error, g_error_copy(s->error));
	return FALSE;
}

static gboolean layer_sink_write(gpointer data, const void *buf, gsize len,
				 GError **error)
{
	LayerSink *s = data;
	const char *p = buf;
	berth_metrics_image_bytes(len);
	while (len > 0 && !s->discard) {
		ssize_t n = write(s->wfd, p, len);
		if (n >= 0) {
			p += n;
			len -= n;
		} else if (errno == EPIPE && g_atomic_int_get(&s->done)) {
			return layer_sink_ended(s, error);
		} else if (errno != EINTR) {
			return berth_throw_errno(error, errno,
						 "layer %s: pipe to the store",
						 s->digest);
		}
	}
	return TRUE;
}

static void layer_sink_close(LayerSink *s)
{
	if (s->wfd >= 0)
		close(s->wfd);
	s->wfd = -1;
}

/* Every byte arrived and matched: EOF tells the importer. Its result is
 * collected after the whole fetch, so the client never waits for a
 * commit. */
static gboolean layer_sink_finish(gpointer data, GError **error)
{
	(void)error;
	layer_sink_close(data);
	return TRUE;
}

/* A short stream fails the import (its digest cannot match). */
static void layer_sink_abort(gpointer data, const GError *why)
{
	(void)why;
	layer_sink_close(data);
}

static gboolean layer_sink_start(LayerSink *s, GError **error)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_throw_errno(error, errno, "layer %s: pipe",
					 s->digest);
	s->rfd = fds[0];
	s->wfd = fds[1];
	(void)fcntl(s->wfd, F_SETPIPE_SZ, PULL_PIPE_SIZE);
	s->thread =
		g_thread_try_new("layer-import", layer_import_main, s, error);
	if (s->thread == NULL) {
		close(s->rfd);
		layer_sink_close(s);
		return FALSE;
	}
	return TRUE;
}

/* Wait for the importer; its error goes to error when that is free. */
static gboolean layer_sink_join(LayerSink *s, GError **error)
{
	layer_sink_close(s);
	if (s->thread == NULL)
		return FALSE;
	g_thread_join(s->thread);
	s->thread = NULL;
	gboolean ok = s->ok;
	if (!ok && error != NULL && *error == NULL)
		*error = g_steal_pointer(&s->error);
	g_clear_error(&s->error);
	return ok;
}

/* --- a batch of layers through one registry_fetch_blobs --------------- */

static gboolean layers_download(ImageStore *store, RegistryClient *c,
				GPtrArray *todo, GError **error)
{
	guint n = todo->len, started = 0;
	g_autofree LayerSink *sinks = g_new0(LayerSink, n);
	g_autofree RegistryBlobRequest *reqs = g_new0(RegistryBlobRequest, n);
	gboolean ok = TRUE;
	for (; ok && started < n; started++) {
		const WantedLayer *w = todo->pdata[started];
		LayerSink *s = &sinks[started];
		*s = (LayerSink){.store = store,
				 .diff_id = w->diff_id,
				 .digest = w->layer->desc.digest,
				 .rfd = -1,
				 .wfd = -1};
		reqs[started] = (RegistryBlobRequest){
			.digest = w->layer->desc.digest,
			.size = w->layer->desc.size,
			.sink = {layer_sink_write, layer_sink_finish,
				 layer_sink_abort, s},
		};
		ok = layer_sink_start(s, error);
	}
	if (ok)
		ok = registry_fetch_blobs(c, reqs, n, error);
	for (guint i = 0; i < started; i++) {
		gboolean imported =
			layer_sink_join(&sinks[i], ok ? error : NULL);
		if (ok && !imported)
			g_prefix_error(error, "blob %s: ", sinks[i].digest);
		ok = ok && imported;
		g_clear_error(&reqs[i].error);
	}
	return ok;
}

/* --- which layers to fetch, and waiting for other flights --------------- */

static GArray *layers_wanted(const ImageManifest *im, char *const *diff_ids)
{
	GArray *want = g_array_new(FALSE, TRUE, sizeof(WantedLayer));
	for (guint i = 0; i < im->layers->len; i++) {
		gboolean dup = FALSE;
		for (guint j = 0; j < want->len && !dup; j++)
			dup = strcmp(g_array_index(want, WantedLayer, j)
					     .diff_id,
				     diff_ids[i]) == 0;
		if (dup)
			continue;
		WantedLayer w = {diff_ids[i], im->layers->pdata[i], FALSE};
		g_array_append_val(want, w);
	}
	return want;
}

/* Under p->mu: claim what the store has, take for todo what no flight is
 * downloading. TRUE when some layer is left to another flight. */
static gboolean layers_sort_locked(ImagePuller *p, GArray *want,
				   GPtrArray *todo)
{
	gboolean others = FALSE;
	for (guint i = 0; i < want->len; i++) {
		WantedLayer *w = &g_array_index(want, WantedLayer, i);
		if (w->have)
			continue;
		if (image_store_has_layer(p->store, w->diff_id)) {
			w->have = TRUE;
		} else if (g_hash_table_contains(p->layers, w->diff_id)) {
			others = TRUE;
		} else {
			g_hash_table_add(p->layers, g_strdup(w->diff_id));
			g_ptr_array_add(todo, w);
		}
	}
	return others;
}

static void layers_release(ImagePuller *p, GPtrArray *todo, gboolean ok)
{
	g_mutex_lock(&p->mu);
	for (guint i = 0; i < todo->len; i++) {
		WantedLayer *w = todo->pdata[i];
		g_hash_table_remove(p->layers, w->diff_id);
		w->have = ok;
	}
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->mu);
}

static gboolean layers_busy_locked(ImagePuller *p, GArray *want)
{
	for (guint i = 0; i < want->len; i++) {
		const WantedLayer *w = &g_array_index(want, WantedLayer, i);
		if (!w->have && g_hash_table_contains(p->layers, w->diff_id))
			return TRUE;
	}
	return FALSE;
}

static gboolean layers_wait_others(PullFlight *f, GArray *want, GError **error)
{
	ImagePuller *p = f->puller;
	gboolean gone = FALSE;
	g_mutex_lock(&p->mu);
	while (layers_busy_locked(p, want) &&
	       !(gone = image_pull_flight_abandoned(f)))
		g_cond_wait_until(&p->cond, &p->mu,
				  g_get_monotonic_time() + PULL_POLL_US);
	g_mutex_unlock(&p->mu);
	if (gone)
		return berth_throw(error, CANCELLED,
				   "cancelled: nobody waits for the image");
	return TRUE;
}

gboolean image_pull_layers(PullFlight *f, RegistryClient *c,
			   const ImageManifest *im, char *const *diff_ids,
			   GError **error)
{
	ImagePuller *p = f->puller;
	g_autoptr(GArray) want = layers_wanted(im, diff_ids);
	guint fetched = 0;
	for (;;) {
		g_autoptr(GPtrArray) todo = g_ptr_array_new();
		g_mutex_lock(&p->mu);
		gboolean others = layers_sort_locked(p, want, todo);
		g_mutex_unlock(&p->mu);
		if (todo->len > 0) {
			gboolean ok = layers_download(p->store, c, todo, error);
			layers_release(p, todo, ok);
			if (!ok)
				return FALSE;
			fetched += todo->len;
		}
		if (!others)
			break;
		log_debug("pull %s: waiting for layers another pull fetches",
			  f->reference);
		if (!layers_wait_others(f, want, error))
			return FALSE;
	}
	log_info("pull %s: %u layers, %u downloaded, %u already stored",
		 f->reference, want->len, fetched, want->len - fetched);
	return TRUE;
}
