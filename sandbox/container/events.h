/* Container lifecycle events for GetContainerEvents: every subscriber
 * gets every event published after it subscribed, in publish order. A
 * subscriber that falls more than EVENTS_MAX_BACKLOG events behind is cut
 * off (its next wait fails) rather than growing memory without bound. */
#pragma once

#include <glib.h>

#define EVENTS_MAX_BACKLOG 10000

typedef enum {
	CTR_EVENT_CREATED = 0, /* same numbers as the CRI ContainerEventType */
	CTR_EVENT_STARTED = 1,
	CTR_EVENT_STOPPED = 2,
	CTR_EVENT_DELETED = 3,
} CtrEventType;

typedef struct {
	CtrEventType type;
	char *container_id;
	char *pod_id;
	gint64 created_at; /* ns */
	gpointer snapshot; /* publisher's data, freed with snapshot_free */
	GDestroyNotify snapshot_free;
} CtrEvent;

typedef struct EventBus EventBus;
typedef struct EventSub EventSub;

EventBus *event_bus_new(void);
void event_bus_free(EventBus *bus);

/* Takes ev. */
void event_bus_publish(EventBus *bus, CtrEvent *ev);
void ctr_event_free(CtrEvent *ev);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtrEvent, ctr_event_free)

/* The publisher's snapshot of a delivered event (shared, read-only). */
gconstpointer ctr_event_snapshot(const CtrEvent *ev);

EventSub *event_bus_subscribe(EventBus *bus);
void event_bus_unsubscribe(EventBus *bus, EventSub *sub);

/* Block until an event (returned, owned by the caller) or until the sub is
 * woken (event_sub_wake), cut off, or the bus closed: then NULL with
 * *error saying which (CANCELLED / RESOURCE_EXHAUSTED / UNAVAILABLE). */
CtrEvent *event_sub_next(EventSub *sub, GError **error);
/* Make a waiting event_sub_next return (the client went away). */
void event_sub_wake(EventSub *sub);

/* Wake every subscriber for good (berthd is shutting down). */
void event_bus_close(EventBus *bus);
