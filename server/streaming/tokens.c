/* The token store: a hash table under one mutex. Expired entries go in a
 * sweep at most once per lifetime, run by add or take; their data is freed
 * outside the lock. */
#include "server/streaming/tokens.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_RANDOM_BYTES 24 /* 192 bits: 32 base64url characters */

typedef struct {
	int kind;
	gint64 expires; /* clock microseconds */
	gpointer data;
	GDestroyNotify free_fn;
} TokenEntry;

struct TokenStore {
	GMutex lock;
	GHashTable *entries; /* token -> TokenEntry */
	gint64 lifetime;     /* microseconds */
	gint64 next_sweep;
	TokenClock clock;
	gpointer clock_data;
};

static gint64 default_clock(gpointer data)
{
	(void)data;
	return g_get_monotonic_time();
}

static void entry_free(TokenEntry *e)
{
	if (e->free_fn != NULL && e->data != NULL)
		e->free_fn(e->data);
	g_free(e);
}

TokenStore *token_store_new(guint lifetime_ms)
{
	TokenStore *s = g_new0(TokenStore, 1);
	g_mutex_init(&s->lock);
	s->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   (GDestroyNotify)entry_free);
	s->lifetime = (gint64)lifetime_ms * 1000;
	s->clock = default_clock;
	return s;
}

void token_store_set_clock(TokenStore *s, TokenClock clock, gpointer data)
{
	s->clock = clock ? clock : default_clock;
	s->clock_data = data;
}

void token_store_free(TokenStore *s)
{
	if (s == NULL)
		return;
	g_hash_table_unref(s->entries);
	g_mutex_clear(&s->lock);
	g_free(s);
}

/* Move expired entries to *dead (freed by the caller after unlocking). */
static void sweep_locked(TokenStore *s, gint64 now, GPtrArray **dead)
{
	if (now < s->next_sweep)
		return;
	s->next_sweep = now + s->lifetime;
	GHashTableIter it;
	gpointer key, value;
	g_hash_table_iter_init(&it, s->entries);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		TokenEntry *e = value;
		if (now < e->expires)
			continue;
		if (*dead == NULL)
			*dead = g_ptr_array_new_with_free_func(
				(GDestroyNotify)entry_free);
		g_hash_table_iter_steal(&it);
		g_free(key);
		g_ptr_array_add(*dead, e);
	}
}

static char *new_token(void)
{
	guint8 raw[TOKEN_RANDOM_BYTES];
	gsize got = 0;
	while (got < sizeof raw) {
		ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			g_error("getrandom: %s", g_strerror(errno));
		got += (gsize)r;
	}
	char *t = g_base64_encode(raw, sizeof raw);
	for (char *p = t; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return t; /* 24 bytes encode to 32 characters without '=' */
}

char *token_store_add(TokenStore *s, int kind, gpointer data,
		      GDestroyNotify free_fn)
{
	g_return_val_if_fail(data != NULL, NULL);
	TokenEntry *e = g_new0(TokenEntry, 1);
	e->kind = kind;
	e->data = data;
	e->free_fn = free_fn;
	char *token = new_token();
	g_autoptr(GPtrArray) dead = NULL;
	g_mutex_lock(&s->lock);
	gint64 now = s->clock(s->clock_data);
	e->expires = now + s->lifetime;
	sweep_locked(s, now, &dead);
	g_hash_table_replace(s->entries, g_strdup(token), e);
	g_mutex_unlock(&s->lock);
	return token;
}

gpointer token_store_take_full(TokenStore *s, const char *token, int kind,
			       GDestroyNotify *free_fn)
{
	g_autoptr(GPtrArray) dead = NULL;
	gpointer data = NULL;
	if (free_fn != NULL)
		*free_fn = NULL;
	if (token == NULL)
		return NULL;
	g_mutex_lock(&s->lock);
	gint64 now = s->clock(s->clock_data);
	sweep_locked(s, now, &dead);
	TokenEntry *e = g_hash_table_lookup(s->entries, token);
	if (e != NULL && e->kind == kind && now < e->expires) {
		data = e->data;
		if (free_fn != NULL)
			*free_fn = e->free_fn;
		e->data = NULL; /* the caller owns it now */
		g_hash_table_remove(s->entries, token);
	}
	g_mutex_unlock(&s->lock);
	return data;
}

gpointer token_store_take(TokenStore *s, const char *token, int kind)
{
	return token_store_take_full(s, token, kind, NULL);
}

gboolean token_store_contains(TokenStore *s, const char *token, int kind)
{
	if (token == NULL)
		return FALSE;
	g_mutex_lock(&s->lock);
	gint64 now = s->clock(s->clock_data);
	TokenEntry *e = g_hash_table_lookup(s->entries, token);
	gboolean ok = e != NULL && e->kind == kind && now < e->expires;
	g_mutex_unlock(&s->lock);
	return ok;
}

guint token_store_size(TokenStore *s)
{
	g_mutex_lock(&s->lock);
	guint n = g_hash_table_size(s->entries);
	g_mutex_unlock(&s->lock);
	return n;
}
