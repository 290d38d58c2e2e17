/* Reply-building helpers shared by the handlers. */
#include "server/reply.h"
#include "api.pb-c.h"
#include "util/error.h"

#include <stdlib.h>
#include <string.h>

static int reply_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void *reply_map(CriCall *call, const ProtobufCMessageDescriptor *entry,
		GPtrArray *kvs, size_t *n_out)
{
	Arena *a = cri_call_arena(call);
	ReplyMapEntry **out = arena_newv(a, ReplyMapEntry *, kvs->len + 1);
	for (guint i = 0; i < kvs->len; i++) {
		const KeyValue *kv = g_ptr_array_index(kvs, i);
		ReplyMapEntry *e = arena_alloc(a, entry->sizeof_message);
		entry->message_init(&e->base);
		e->key = arena_strdup(a, kv->key);
		e->value = arena_strdup(a, kv->value);
		out[i] = e;
	}
	*n_out = kvs->len;
	return out;
}

void *reply_map_table(CriCall *call, const ProtobufCMessageDescriptor *entry,
		      GHashTable *table, size_t *n_out)
{
	g_autoptr(GPtrArray) kvs = g_ptr_array_new();
	if (table != NULL) {
		g_autofree gpointer *keys =
			g_hash_table_get_keys_as_array(table, NULL);
		guint n = g_hash_table_size(table);
		qsort(keys, n, sizeof(gpointer), reply_cmp_str);
		for (guint i = 0; i < n; i++) {
			KeyValue *kv =
				arena_new0(cri_call_arena(call), KeyValue);
			kv->key = keys[i];
			kv->value = g_hash_table_lookup(table, keys[i]);
			g_ptr_array_add(kvs, kv);
		}
	}
	return reply_map(call, entry, kvs, n_out);
}

char **reply_strv(CriCall *call, char *const *v, size_t *n_out)
{
	guint n = v != NULL ? g_strv_length((char **)v) : 0;
	char **out = arena_newv(cri_call_arena(call), char *, n + 1);
	for (guint i = 0; i < n; i++)
		out[i] = reply_str(call, v[i]);
	*n_out = n;
	return out;
}

void *reply_info(CriCall *call, const ProtobufCMessageDescriptor *entry,
		 const char *key, char *value, size_t *n_out)
{
	g_autoptr(GPtrArray) kvs = g_ptr_array_new_with_free_func(g_free);
	KeyValue *kv = g_new0(KeyValue, 1);
	kv->key = (char *)key;
	kv->value = value ? value : "";
	g_ptr_array_add(kvs, kv);
	void *out = reply_map(call, entry, kvs, n_out);
	free(value);
	return out;
}

void request_set(char **slot, const char *s)
{
	g_free(*slot);
	*slot = g_strdup(s);
}

char **request_strv(char **v, size_t n)
{
	char **out = g_new0(char *, n + 1);
	for (size_t i = 0; i < n; i++)
		out[i] = g_strdup(v[i]);
	return out;
}

gboolean request_check_name(const char *field, const char *s, GError **error)
{
	if (s == NULL || s[0] == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "%s is required",
				   field);
	if (strlen(s) > 253)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s is longer than 253 bytes", field);
	for (const char *p = s; *p; p++) {
		if (!g_ascii_isalnum(*p) && !strchr("-._", *p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "%s \"%s\" may hold only letters, "
					   "digits, '-', '.' and '_'",
					   field, s);
	}
	return TRUE;
}

void request_map(GPtrArray *dst, void *const *entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ReplyMapEntry *e = entries[i];
		kv_list_add(dst, e->key, e->value);
	}
}

gboolean labels_match(GPtrArray *kvs, void *const *selector, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ReplyMapEntry *want = selector[i];
		const char *have = kv_list_get(kvs, want->key);
		if (have == NULL || strcmp(have, want->value) != 0)
			return FALSE;
	}
	return TRUE;
}

struct Runtime__V1__UInt64Value *reply_u64(CriCall *call, guint64 v)
{
	Runtime__V1__UInt64Value *u =
		reply_new(call, Runtime__V1__UInt64Value,
			  runtime__v1__uint64_value__init);
	u->value = v;
	return u;
}

gboolean reply_stream_pages(CriCall *call, ProtobufCMessage *msg,
			    void ***items_field, size_t *n_field,
			    GPtrArray *items, GError **error)
{
	for (guint i = 0; i < items->len; i += REPLY_PAGE) {
		*items_field = &items->pdata[i];
		*n_field = MIN((guint)REPLY_PAGE, items->len - i);
		if (!cri_call_send(call, msg, error))
			return FALSE;
	}
	return TRUE;
}

void *reply_items(CriCall *call, GPtrArray *items, size_t *n_out)
{
	void **out = arena_newv(cri_call_arena(call), void *, items->len + 1);
	for (guint i = 0; i < items->len; i++)
		out[i] = g_ptr_array_index(items, i);
	*n_out = items->len;
	return out;
}

/* --- user namespaces ------------------------------------------------------ */

static gboolean take_range(const char *field, const char *what,
			   Runtime__V1__IDMapping *const *in, size_t n,
			   UsernsRange *out, GError **error)
{
	if (n != 1)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s.%s: mode POD takes exactly one mapping, "
				   "not %zu",
				   field, what, n);
	out->container_id = in[0]->container_id;
	out->host_id = in[0]->host_id;
	out->length = in[0]->length;
	return TRUE;
}

gboolean request_userns(const Runtime__V1__UserNamespace *u, const char *field,
			gboolean *pod_mode, UsernsMap *map, GError **error)
{
	*pod_mode = FALSE;
	memset(map, 0, sizeof *map);
	if (u == NULL)
		return TRUE;
	switch (u->mode) {
	case RUNTIME__V1__NAMESPACE_MODE__NODE:
		if (u->n_uids > 0 || u->n_gids > 0)
			return berth_throw(error, INVALID_ARGUMENT,
					   "%s: mappings are only for mode POD",
					   field);
		return TRUE;
	case RUNTIME__V1__NAMESPACE_MODE__POD:
		*pod_mode = TRUE;
		return take_range(field, "uids", u->uids, u->n_uids, &map->uid,
				  error) &&
		       take_range(field, "gids", u->gids, u->n_gids, &map->gid,
				  error);
	default:
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s.mode: only POD or NODE, not %d", field,
				   (int)u->mode);
	}
}
