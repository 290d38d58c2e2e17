/* Where pods live: the in-memory index (by id, id prefix and reserved
 * name) and their records under <root>/pods/<id>/pod.json. */
#pragma once

#include "sandbox/pod/pod.h"

typedef struct PodStore PodStore;

PodStore *pod_store_new(const char *dir /* <root>/pods */, GError **error);
void pod_store_free(PodStore *s);

/* Read every record on disk. Returns the pods found (new refs), not yet
 * indexed: recovery decides which to finish, roll back or add. */
GPtrArray *pod_store_read_all(PodStore *s);

/* <dir>/<id>: the pod's persistent directory. */
char *pod_store_pod_dir(PodStore *s, const char *id);

/* Write p's record atomically. Takes p->lock. */
gboolean pod_store_save(PodStore *s, Pod *p, GError **error);
/* Remove the pod's directory, its record last. */
gboolean pod_store_delete(PodStore *s, const char *id, GError **error);

/* Index p under its id and full name. When the name is taken, FALSE with
 * *holder set to (a new ref of) the pod that holds it. */
gboolean pod_store_reserve(PodStore *s, Pod *p, Pod **holder);
/* Drop p from the index; its id is remembered as removed. */
void pod_store_forget(PodStore *s, Pod *p);
/* Index a recovered pod unconditionally. */
void pod_store_add(PodStore *s, Pod *p);

/* By full id or unique prefix: a new ref. NOT_FOUND for none (with a
 * message naming the id), INVALID_ARGUMENT for an empty or ambiguous one.
 * Pods still being created are not found. */
Pod *pod_store_lookup(PodStore *s, const char *id, GError **error);
gboolean pod_store_was_removed(PodStore *s, const char *id);

/* A snapshot of every indexed pod (new refs), creation order. */
GPtrArray *pod_store_list(PodStore *s);
guint pod_store_count(PodStore *s);
