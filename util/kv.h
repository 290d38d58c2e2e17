/* Ordered key/value lists (labels, annotations, envs, sysctls, cgroup v2
 * settings): a GPtrArray of KeyValue, kept in the order given. */
#pragma once

#include <glib.h>

typedef struct {
	char *key;
	char *value;
} KeyValue;

/* An empty list that frees its pairs. */
GPtrArray *kv_list_new(void);
/* Append a copy of key and value. */
void kv_list_add(GPtrArray *list, const char *key, const char *value);
/* The value of the first pair with key, or NULL. */
const char *kv_list_get(GPtrArray *list, const char *key);
