/* Small helpers for building replies in a call's arena. */
#pragma once

#include "cri/core.h"
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/pod/pod.h"
#include "util/arena.h"

/* A zeroed, initialised message of type T in the call's arena. */
#define reply_new(call, T, init_fn)                                            \
	({                                                                     \
		T *m_ = arena_new0(cri_call_arena(call), T);                   \
		init_fn(m_);                                                   \
		m_;                                                            \
	})

#define reply_str(call, s) arena_strdup(cri_call_arena(call), (s))

/* Every map<string,string> entry type protoc-c makes has this layout. */
typedef struct {
	ProtobufCMessage base;
	char *key;
	char *value;
} ReplyMapEntry;

/* Fill a map field (entries array + count) from key/value pairs, with the
 * entry type of that field (e.g.
 * runtime__v1__pod_sandbox__labels_entry__descriptor). */
void *reply_map(CriCall *call, const ProtobufCMessageDescriptor *entry,
		GPtrArray *kvs /* KeyValue* */, size_t *n_out);

/* The same from a char* → char* table, keys sorted. */
void *reply_map_table(CriCall *call, const ProtobufCMessageDescriptor *entry,
		      GHashTable *table, size_t *n_out);

/* A repeated string field from a NULL-terminated vector (NULL: none). */
char **reply_strv(CriCall *call, char *const *v, size_t *n_out);

/* A verbose `info` map with one entry, key -> value (the value is taken
 * and freed with free(), as jansson's json_dumps returns it). */
void *reply_info(CriCall *call, const ProtobufCMessageDescriptor *entry,
		 const char *key, char *value, size_t *n_out);

/* The items as a pointer array in the call's arena, for a repeated field
 * of a reply; *n_out gets the count. */
void *reply_items(CriCall *call, GPtrArray *items, size_t *n_out);

/* Replace *slot with a copy of s. */
void request_set(char **slot, const char *s);
/* A request's repeated string field as a new NULL-terminated vector. */
char **request_strv(char **v, size_t n);
/* Names end up in log paths, cgroup names and CNI args: keep them to what
 * Kubernetes allows in an object name (at most 253 bytes of letters,
 * digits, '-', '.' and '_'). field names it in the message. */
/* userns_options of a pod or container: mode POD with one uid and one gid
 * range (what kubelet sends) sets *pod_mode and *map; NODE or absent: the
 * host's; CONTAINER, TARGET, or mappings with NODE: INVALID_ARGUMENT
 * naming field. */
struct Runtime__V1__UserNamespace;
gboolean request_userns(const struct Runtime__V1__UserNamespace *u,
			const char *field, gboolean *pod_mode, UsernsMap *map,
			GError **error);

gboolean request_check_name(const char *field, const char *s, GError **error);

/* Copy a request's map field into key/value pairs (KeyValue*). */
void request_map(GPtrArray *dst, void *const *entries, size_t n);

/* TRUE when every pair of selector is in kvs with the same value. */
gboolean labels_match(GPtrArray *kvs, void *const *selector, size_t n);

/* Send items as a server stream in pages of at most REPLY_PAGE: msg is the
 * response message, (*items_field, *n_field) its repeated field. Every item
 * goes out exactly once; no message at all when items is empty. */
#define REPLY_PAGE 100
gboolean reply_stream_pages(CriCall *call, ProtobufCMessage *msg,
			    void ***items_field, size_t *n_field,
			    GPtrArray *items, GError **error);

/* Wrap an unsigned value for the *Value fields. */
struct Runtime__V1__UInt64Value;
struct Runtime__V1__UInt64Value *reply_u64(CriCall *call, guint64 v);
