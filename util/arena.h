/* A bump allocator for building one reply: everything a handler allocates
 * for a response comes from the call's arena and is freed in one go after
 * the reply is packed, so handlers never free protobuf fields one by one. */
#pragma once

#include <glib.h>

typedef struct Arena Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
/* Free everything allocated so far but keep the arena (long streams). */
void arena_reset(Arena *a);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Arena, arena_free)

/* Zeroed memory, aligned for any type. Never fails (aborts on OOM, as GLib). */
void *arena_alloc(Arena *a, gsize size);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Hand p to the arena: free_fn(p) runs when the arena is reset or freed
 * (latest first), so a reply can point into data it does not copy. */
void arena_own(Arena *a, gpointer p, GDestroyNotify free_fn);

#define arena_new0(a, T) ((T *)arena_alloc((a), sizeof(T)))
#define arena_newv(a, T, n) ((T *)arena_alloc((a), sizeof(T) * (n)))
