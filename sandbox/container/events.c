/* A publish/subscribe queue per subscriber, under one lock. */
#include "sandbox/container/events.h"
#include "util/error.h"

struct EventSub {
	EventBus *bus;
	GQueue queue; /* CtrEvent*, owned copies */
	gboolean woken;
	gboolean cut_off;
};

struct EventBus {
	GMutex lock;
	GCond cond;
	GList *subs;
	gboolean closed;
};

void ctr_event_free(CtrEvent *ev)
{
	if (ev == NULL)
		return;
	g_free(ev->container_id);
	g_free(ev->pod_id);
	if (ev->snapshot && ev->snapshot_free)
		ev->snapshot_free(ev->snapshot);
	g_free(ev);
}

EventBus *event_bus_new(void)
{
	EventBus *bus = g_new0(EventBus, 1);
	g_mutex_init(&bus->lock);
	g_cond_init(&bus->cond);
	return bus;
}

static void sub_clear(EventSub *sub)
{
	CtrEvent *ev;
	while ((ev = g_queue_pop_head(&sub->queue)) != NULL)
		ctr_event_free(ev);
}

void event_bus_free(EventBus *bus)
{
	if (bus == NULL)
		return;
	for (GList *l = bus->subs; l; l = l->next) {
		sub_clear(l->data);
		g_free(l->data);
	}
	g_list_free(bus->subs);
	g_mutex_clear(&bus->lock);
	g_cond_clear(&bus->cond);
	g_free(bus);
}

/* Subscribers share the publisher's snapshot by reference: each gets its
 * own CtrEvent, the snapshot is owned by the first and referenced by the
 * rest through a refcounted box. */
typedef struct {
	gint refs;
	gpointer data;
	GDestroyNotify free_fn;
} Box;

static void box_unref(gpointer p)
{
	Box *b = p;
	if (!g_atomic_int_dec_and_test(&b->refs))
		return;
	if (b->data && b->free_fn)
		b->free_fn(b->data);
	g_free(b);
}

/* The snapshot of a delivered event, as the publisher gave it. */
static CtrEvent *copy_for(const CtrEvent *ev, Box *box)
{
	CtrEvent *c = g_new0(CtrEvent, 1);
	c->type = ev->type;
	c->container_id = g_strdup(ev->container_id);
	c->pod_id = g_strdup(ev->pod_id);
	c->created_at = ev->created_at;
	if (box != NULL) {
		g_atomic_int_inc(&box->refs);
		c->snapshot = box;
		c->snapshot_free = box_unref;
	}
	return c;
}

gconstpointer ctr_event_snapshot(const CtrEvent *ev)
{
	if (ev->snapshot != NULL && ev->snapshot_free == box_unref)
		return ((const Box *)ev->snapshot)->data;
	return ev->snapshot;
}

void event_bus_publish(EventBus *bus, CtrEvent *ev)
{
	Box *box = NULL;
	if (ev->snapshot != NULL) {
		box = g_new0(Box, 1);
		box->refs = 1;
		box->data = ev->snapshot;
		box->free_fn = ev->snapshot_free;
		ev->snapshot = NULL;
	}
	g_mutex_lock(&bus->lock);
	for (GList *l = bus->subs; l; l = l->next) {
		EventSub *sub = l->data;
		if (sub->cut_off)
			continue;
		if (g_queue_get_length(&sub->queue) >= EVENTS_MAX_BACKLOG) {
			sub->cut_off = TRUE;
			sub_clear(sub);
			continue;
		}
		g_queue_push_tail(&sub->queue, copy_for(ev, box));
	}
	g_cond_broadcast(&bus->cond);
	g_mutex_unlock(&bus->lock);
	if (box != NULL)
		box_unref(box);
	ctr_event_free(ev);
}

EventSub *event_bus_subscribe(EventBus *bus)
{
	EventSub *sub = g_new0(EventSub, 1);
	sub->bus = bus;
	g_queue_init(&sub->queue);
	g_mutex_lock(&bus->lock);
	bus->subs = g_list_append(bus->subs, sub);
	g_mutex_unlock(&bus->lock);
	return sub;
}

void event_bus_unsubscribe(EventBus *bus, EventSub *sub)
{
	g_mutex_lock(&bus->lock);
	bus->subs = g_list_remove(bus->subs, sub);
	g_mutex_unlock(&bus->lock);
	sub_clear(sub);
	g_free(sub);
}

CtrEvent *event_sub_next(EventSub *sub, GError **error)
{
	EventBus *bus = sub->bus;
	g_mutex_lock(&bus->lock);
	for (;;) {
		if (sub->cut_off) {
			berth_throw(error, RESOURCE_EXHAUSTED,
				    "event stream fell more than %d events "
				    "behind; subscribe again",
				    EVENTS_MAX_BACKLOG);
			break;
		}
		CtrEvent *ev = g_queue_pop_head(&sub->queue);
		if (ev != NULL) {
			g_mutex_unlock(&bus->lock);
			return ev;
		}
		if (bus->closed) {
			berth_throw(error, UNAVAILABLE,
				    "berthd is shutting down");
			break;
		}
		if (sub->woken) {
			berth_throw(error, CANCELLED, "the client went away");
			break;
		}
		g_cond_wait(&bus->cond, &bus->lock);
	}
	g_mutex_unlock(&bus->lock);
	return NULL;
}

void event_sub_wake(EventSub *sub)
{
	EventBus *bus = sub->bus;
	g_mutex_lock(&bus->lock);
	sub->woken = TRUE;
	g_cond_broadcast(&bus->cond);
	g_mutex_unlock(&bus->lock);
}

void event_bus_close(EventBus *bus)
{
	g_mutex_lock(&bus->lock);
	bus->closed = TRUE;
	g_cond_broadcast(&bus->cond);
	g_mutex_unlock(&bus->lock);
}
