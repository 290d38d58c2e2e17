/* Where pods and containers live: an index by id, id prefix and reserved
 * name (sandbox/index.h), and each object's record on disk at
 * <dir>/<id>/<record>, replaced atomically and durably. A store knows its
 * objects only through StoreOps; pods and containers each define theirs. */
#pragma once

#include <glib.h>

#include "sandbox/attempt.h"
#include "sandbox/index.h"

typedef struct {
	IndexOps index;
	const char *record; /* the record's file name, e.g. "pod.json" */
	/* The record's text; takes the object's own lock. */
	char *(*to_json)(gpointer obj);
	gpointer (*from_json)(const char *text, gsize len, GError **error);
	gint64 (*created_at)(gpointer obj); /* the order of lists */
} StoreOps;

typedef struct Store Store;

Store *store_new(const StoreOps *ops, const char *dir, GError **error);
void store_free(Store *s);

/* <dir>/<id>: the object's persistent directory. */
char *store_dir_of(Store *s, const char *id);

/* Read every record on disk. Returns the objects found (new refs), not
 * yet indexed: recovery decides which to finish, roll back or add. A
 * directory without a record (its creation died before the first write)
 * is removed; an unreadable record is logged and left alone. */
GPtrArray *store_read_all(Store *s);

/* Write obj's record atomically. */
gboolean store_save(Store *s, gpointer obj, GError **error);
/* store_save for the steps of a stop or removal: on a full disk (no
 * room for the record) they go on without it, logged, since removing is
 * how space comes back (kubelet evicts on disk pressure); their undo is
 * idempotent, so a crash half-way is finished by the next removal. */
gboolean store_save_unless_full(Store *s, gpointer obj, GError **error);
/* Remove the object's directory, its record last, so that a crash half
 * way still finds the record and recovery finishes the job. */
gboolean store_delete(Store *s, const char *id, GError **error);

/* Index obj under its id and name. When the name is taken, FALSE with
 * *holder set to a new ref of the object that holds it. */
gboolean store_reserve(Store *s, gpointer obj, gpointer *holder);
/* What a new object does with the holder of its name (sandbox/attempt.h);
 * waits while the holder is still being made. */
typedef AttemptVerdict (*StoreClaim)(gpointer obj, gpointer holder);
/* store_reserve for a create that kubelet may retry: TRUE with *first
 * NULL when obj holds the name now, or with *first set (a new ref) to the
 * first attempt of the same request; ALREADY_EXISTS naming the holder
 * when another object holds it. */
gboolean store_reserve_attempt(Store *s, gpointer obj, StoreClaim claim,
			       gpointer *first, GError **error);
/* Index a recovered object unconditionally. */
void store_add(Store *s, gpointer obj);
/* Drop obj from the index; its id is remembered as removed. */
void store_forget(Store *s, gpointer obj);

/* By full id or unique prefix: a new ref. NOT_FOUND for none (naming the
 * id), INVALID_ARGUMENT for an empty or ambiguous one. Objects still
 * being made are not found. */
gpointer store_lookup(Store *s, const char *id, GError **error);
/* For the idempotent calls (stop, remove): TRUE with *out NULL when id
 * names nothing (never known, or already removed); TRUE with a new ref
 * in *out when found; FALSE only for an empty or ambiguous id. */
gboolean store_lookup_idempotent(Store *s, const char *id, gpointer *out,
				 GError **error);
gboolean store_was_removed(Store *s, const char *id);

/* A snapshot of every indexed object (new refs), in creation order. */
GPtrArray *store_list(Store *s);
/* The same for the objects keep says yes to (sandbox/index.h). */
GPtrArray *store_list_where(Store *s, IndexKeep keep, gconstpointer data);
guint store_count(Store *s);
