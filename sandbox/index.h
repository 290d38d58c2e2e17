/* An index of refcounted objects by id, unique id prefix and reserved
 * name, remembering the ids it dropped. Pods and containers both use it;
 * it knows them only through IndexOps. Thread-safe. */
#pragma once

#include <glib.h>

typedef struct {
	const char *what; /* "pod sandbox", "container": for messages */
	const char *(*id)(gpointer obj);
	const char *(*name)(gpointer obj);
	gpointer (*ref)(gpointer obj);
	void (*unref)(gpointer obj);
	/* FALSE for objects a lookup must not find (still being made). */
	gboolean (*visible)(gpointer obj);
} IndexOps;

typedef struct Index Index;

Index *index_new(const IndexOps *ops);
void index_free(Index *ix);

/* Add obj under its id and name. When the name is taken, FALSE with
 * *holder set to a new ref of the object holding it. */
gboolean index_reserve(Index *ix, gpointer obj, gpointer *holder);
/* Add obj unconditionally (recovery); a taken name keeps its first owner. */
void index_add(Index *ix, gpointer obj);
/* Drop obj; its id is remembered as removed. */
void index_forget(Index *ix, gpointer obj);

/* By full id or unique prefix: a new ref. NOT_FOUND (naming the id) for
 * none, INVALID_ARGUMENT for an empty or ambiguous one. */
gpointer index_lookup(Index *ix, const char *id, GError **error);
gboolean index_was_removed(Index *ix, const char *id);

/* A snapshot of every object (new refs), in the order given by cmp. */
GPtrArray *index_list(Index *ix, GCompareDataFunc cmp, gpointer data);
/* The same for the objects keep says yes to (called under the index's
 * read lock: it may take the object's own lock, never the index's). */
typedef gboolean (*IndexKeep)(gpointer obj, gconstpointer data);
GPtrArray *index_list_where(Index *ix, IndexKeep keep, gconstpointer keep_data,
			    GCompareDataFunc cmp, gpointer data);
guint index_count(Index *ix);
