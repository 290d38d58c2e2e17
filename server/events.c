/* GetContainerEvents: a long-lived stream of container lifecycle events,
 * each with the pod's status and its containers' statuses as of sending.
 * Waits on the event bus; a client cancel wakes it (no polling). */
#include "sandbox/container/ctrlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

#include <string.h>

static void wake(gpointer sub)
{
	event_sub_wake(sub);
}

static void fill_event(BerthServer *s, CriCall *call, const CtrEvent *ev,
		       Runtime__V1__ContainerEventResponse *r)
{
	r->container_id = reply_str(call, ev->container_id);
	r->container_event_type = (Runtime__V1__ContainerEventType)ev->type;
	r->created_at = ev->created_at;
	g_autoptr(Pod) p =
		store_lookup(pod_manager_store(s->pods), ev->pod_id, NULL);
	if (p != NULL)
		r->pod_sandbox_status = server_pod_status(call, p);
	r->containers_statuses = server_pod_container_statuses(
		s, call, ev->pod_id, &r->n_containers_statuses);
}

BERTH_STREAM(server_get_container_events)
{
	BerthServer *s = ctx;
	(void)req;
	EventSub *sub = event_bus_subscribe(s->events);
	cri_call_on_cancel(call, wake, sub);
	gboolean ok = TRUE;
	for (;;) {
		g_autoptr(GError) why = NULL;
		g_autoptr(CtrEvent) ev = event_sub_next(sub, &why);
		if (ev == NULL) {
			/* The client left, or berthd is stopping. */
			ok = g_error_matches(why, BERTH_ERROR,
					     BERTH_ERROR_CANCELLED);
			if (!ok)
				g_propagate_error(error, g_steal_pointer(&why));
			break;
		}
		Runtime__V1__ContainerEventResponse r =
			RUNTIME__V1__CONTAINER_EVENT_RESPONSE__INIT;
		fill_event(s, call, ev, &r);
		gboolean sent = cri_call_send(call, &r.base, NULL);
		/* Each event's reply is packed: its memory can go. */
		arena_reset(cri_call_arena(call));
		if (!sent)
			break;
	}
	cri_call_on_cancel(call, NULL, NULL);
	event_bus_unsubscribe(s->events, sub);
	return ok;
}
