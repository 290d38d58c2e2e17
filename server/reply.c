/* Reply-building helpers shared by the handlers. */
#include "server/reply.h"
#include "api.pb-c.h"

#include <string.h>

void *reply_map(CriCall *call, const ProtobufCMessageDescriptor *entry,
		GPtrArray *kvs, size_t *n_out)
{
	Arena *a = cri_call_arena(call);
	ReplyMapEntry **out = arena_newv(a, ReplyMapEntry *, kvs->len + 1);
	for (guint i = 0; i < kvs->len; i++) {
		const PodKV *kv = g_ptr_array_index(kvs, i);
		ReplyMapEntry *e = arena_alloc(a, entry->sizeof_message);
		entry->message_init(&e->base);
		e->key = arena_strdup(a, kv->key);
		e->value = arena_strdup(a, kv->value);
		out[i] = e;
	}
	*n_out = kvs->len;
	return out;
}

void request_map(GPtrArray *dst, void *const *entries, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ReplyMapEntry *e = entries[i];
		pod_kv_add(dst, e->key, e->value);
	}
}

gboolean labels_match(GPtrArray *kvs, void *const *selector, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const ReplyMapEntry *want = selector[i];
		const char *have = pod_kv_get(kvs, want->key);
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
