/* Inside the puller: the ImagePuller and one shared download (a flight),
 * and what pull.c (resolution, manifests, commit, sharing) and
 * pull-layers.c (layer downloads piped into the store) share. */
#pragma once

#include "image/pull.h"
#include "image/registry.h"

struct ImagePuller {
	ImageStore *store;
	const Registries *registries;
	char *auth_file;
	guint max_parallel;
	guint stall_seconds;

	GMutex mu;	     /* guards what follows */
	GCond cond;	     /* a flight ended, a layer landed, a worker left */
	GHashTable *flights; /* key → PullFlight* (the table holds a ref) */
	GHashTable *layers;  /* diff_ids some flight is downloading now */
	guint workers;	     /* worker threads still running */
};

/* One download that every caller with the same key waits for. It runs on
 * its own worker thread, so no caller's deadline or cancel stops it while
 * another still waits. */
typedef struct {
	gint refs; /* atomic */
	ImagePuller *puller;
	char *key;
	char *reference; /* as the first caller wrote it, for messages */
	ImageRef *ref;
	AuthCredentials *creds;
	char *server_address;
	gint waiters; /* atomic: callers still waiting */
	/* under puller->mu */
	gboolean done;
	char *id;
	GError *error;
} PullFlight;

/* TRUE once every caller of the flight has gone: stop downloading. */
gboolean image_pull_flight_abandoned(gpointer flight);

/* Make every layer of the image stored: those the store has are claimed,
 * those another flight is downloading are waited for, the rest are
 * downloaded (layer i of im is the blob of diff_ids[i]) and imported as
 * they stream. */
gboolean image_pull_layers(PullFlight *f, RegistryClient *c,
			   const ImageManifest *im, char *const *diff_ids,
			   GError **error);
