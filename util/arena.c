/* Chunked bump allocator; large requests get a chunk of their own. */
#include "util/arena.h"

#include <stdarg.h>
#include <string.h>

#define ARENA_CHUNK 4096
#define ARENA_ALIGN 16

typedef struct Chunk {
	struct Chunk *next;
	gsize used, size;
	/* data follows, aligned */
} Chunk;

typedef struct Owned {
	struct Owned *next;
	gpointer p;
	GDestroyNotify free_fn;
} Owned;

struct Arena {
	Chunk *head;
	Owned *owned; /* its records live in the chunks */
};

static gsize header_size(void)
{
	return (sizeof(Chunk) + ARENA_ALIGN - 1) & ~(gsize)(ARENA_ALIGN - 1);
}

Arena *arena_new(void)
{
	return g_new0(Arena, 1);
}

void arena_reset(Arena *a)
{
	for (Owned *o = a->owned; o != NULL; o = o->next)
		o->free_fn(o->p);
	a->owned = NULL;
	Chunk *c = a->head;
	while (c != NULL) {
		Chunk *next = c->next;
		g_free(c);
		c = next;
	}
	a->head = NULL;
}

void arena_free(Arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	g_free(a);
}

void *arena_alloc(Arena *a, gsize size)
{
	size = (size + ARENA_ALIGN - 1) & ~(gsize)(ARENA_ALIGN - 1);
	if (size == 0)
		size = ARENA_ALIGN;
	Chunk *c = a->head;
	if (c == NULL || c->size - c->used < size) {
		gsize cap = MAX(size, (gsize)ARENA_CHUNK);
		Chunk *n = g_malloc(header_size() + cap);
		n->used = 0;
		n->size = cap;
		if (size >= ARENA_CHUNK && c != NULL) {
			/* Keep the current chunk's free space for small allocs.
			 */
			n->next = c->next;
			c->next = n;
		} else {
			n->next = c;
			a->head = n;
		}
		c = n;
	}
	char *p = (char *)c + header_size() + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *arena_strdup(Arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	gsize n = strlen(s) + 1;
	char *p = arena_alloc(a, n);
	memcpy(p, s, n);
	return p;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *s = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return arena_strdup(a, s);
}

void arena_own(Arena *a, gpointer p, GDestroyNotify free_fn)
{
	Owned *o = arena_new0(a, Owned);
	o->p = p;
	o->free_fn = free_fn;
	o->next = a->owned;
	a->owned = o;
}
