/* Ordered key/value lists. */
#include "util/kv.h"

#include <string.h>

static void kv_free(gpointer p)
{
	KeyValue *kv = p;
	g_free(kv->key);
	g_free(kv->value);
	g_free(kv);
}

GPtrArray *kv_list_new(void)
{
	return g_ptr_array_new_with_free_func(kv_free);
}

void kv_list_add(GPtrArray *list, const char *key, const char *value)
{
	KeyValue *kv = g_new0(KeyValue, 1);
	kv->key = g_strdup(key);
	kv->value = g_strdup(value);
	g_ptr_array_add(list, kv);
}

const char *kv_list_get(GPtrArray *list, const char *key)
{
	for (guint i = 0; i < list->len; i++) {
		const KeyValue *kv = g_ptr_array_index(list, i);
		if (strcmp(kv->key, key) == 0)
			return kv->value;
	}
	return NULL;
}
