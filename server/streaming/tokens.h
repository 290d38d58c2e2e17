/* Single-use, short-lived, unguessable tokens: the last path element of the
 * URLs Exec, Attach and PortForward return. Each token stands for the
 * request it was made for until the streaming server takes it. */
#pragma once

#include <glib.h>

typedef struct TokenStore TokenStore;

/* Monotonic microseconds; tests inject their own. */
typedef gint64 (*TokenClock)(gpointer data);

TokenStore *token_store_new(guint lifetime_ms);
/* Replace g_get_monotonic_time (tests); call before the first add. */
void token_store_set_clock(TokenStore *s, TokenClock clock, gpointer data);
/* Frees the data of every token not taken. */
void token_store_free(TokenStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TokenStore, token_store_free)

/* A new token (URL-safe base64, 192 random bits from getrandom) for data of
 * the given kind (data must not be NULL); the store owns data until taken
 * (free_fn on expiry or free; it may be NULL). */
char *token_store_add(TokenStore *s, int kind, gpointer data,
		      GDestroyNotify free_fn);

/* The data, once: NULL when unknown, already taken, expired, or of another
 * kind (a wrong-kind lookup does not consume it). Thread-safe. Expired
 * entries are dropped lazily on add and take (no timer thread). */
gpointer token_store_take(TokenStore *s, const char *token, int kind);
/* The same, also giving the free_fn the data was added with. */
gpointer token_store_take_full(TokenStore *s, const char *token, int kind,
			       GDestroyNotify *free_fn);

/* Would token_store_take succeed now? Consumes nothing. */
gboolean token_store_contains(TokenStore *s, const char *token, int kind);

/* Tokens held, expired ones not yet dropped included (tests). */
guint token_store_size(TokenStore *s);
