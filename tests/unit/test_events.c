/* The container event bus: order, fan-out, shared snapshots, back-pressure
 * cut-off, wake-up and close. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "sandbox/container/events.h"
#include "util/error.h"

static int freed;

static void count_free(gpointer p)
{
	freed++;
	g_free(p);
}

static CtrEvent *event(CtrEventType t, int n, gboolean snap)
{
	CtrEvent *ev = g_new0(CtrEvent, 1);
	ev->type = t;
	ev->container_id = g_strdup_printf("c%d", n);
	ev->pod_id = g_strdup("p");
	ev->created_at = n;
	if (snap) {
		ev->snapshot = g_strdup_printf("snap%d", n);
		ev->snapshot_free = count_free;
	}
	return ev;
}

static void test_order_and_fanout(void **state)
{
	(void)state;
	freed = 0;
	EventBus *bus = event_bus_new();
	EventSub *a = event_bus_subscribe(bus);
	EventSub *b = event_bus_subscribe(bus);
	for (int i = 0; i < 5; i++)
		event_bus_publish(bus, event(i % 4, i, TRUE));
	for (int i = 0; i < 5; i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(CtrEvent) ea = event_sub_next(a, &error);
		g_autoptr(CtrEvent) eb = event_sub_next(b, &error);
		assert_non_null(ea);
		assert_non_null(eb);
		assert_int_equal(ea->created_at, i);
		assert_int_equal(eb->created_at, i);
		assert_int_equal(ea->type, i % 4);
		g_autofree char *want = g_strdup_printf("snap%d", i);
		assert_string_equal(ctr_event_snapshot(ea), want);
		assert_ptr_equal(ctr_event_snapshot(ea),
				 ctr_event_snapshot(eb));
	}
	/* Each snapshot freed once, after both subscribers let go. */
	assert_int_equal(freed, 5);
	event_bus_unsubscribe(bus, a);
	event_bus_unsubscribe(bus, b);
	event_bus_free(bus);
}

static void test_late_subscriber_sees_only_new(void **state)
{
	(void)state;
	EventBus *bus = event_bus_new();
	event_bus_publish(bus, event(CTR_EVENT_CREATED, 1, FALSE));
	EventSub *s = event_bus_subscribe(bus);
	event_bus_publish(bus, event(CTR_EVENT_STARTED, 2, FALSE));
	g_autoptr(GError) error = NULL;
	g_autoptr(CtrEvent) ev = event_sub_next(s, &error);
	assert_string_equal(ev->container_id, "c2");
	assert_null(ctr_event_snapshot(ev));
	event_bus_unsubscribe(bus, s);
	event_bus_free(bus);
}

static void test_backlog_cut_off(void **state)
{
	(void)state;
	EventBus *bus = event_bus_new();
	EventSub *s = event_bus_subscribe(bus);
	for (int i = 0; i <= EVENTS_MAX_BACKLOG; i++)
		event_bus_publish(bus, event(CTR_EVENT_CREATED, i, FALSE));
	g_autoptr(GError) error = NULL;
	assert_null(event_sub_next(s, &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_RESOURCE_EXHAUSTED));
	event_bus_unsubscribe(bus, s);
	event_bus_free(bus);
}

static gpointer waker(gpointer data)
{
	g_usleep(50000);
	event_sub_wake(data);
	return NULL;
}

static gpointer closer(gpointer data)
{
	g_usleep(50000);
	event_bus_close(data);
	return NULL;
}

static void test_wake_and_close(void **state)
{
	(void)state;
	EventBus *bus = event_bus_new();
	EventSub *s = event_bus_subscribe(bus);
	GThread *t1 = g_thread_new("waker", waker, s);
	g_autoptr(GError) error = NULL;
	assert_null(event_sub_next(s, &error));
	assert_true(g_error_matches(error, BERTH_ERROR, BERTH_ERROR_CANCELLED));
	g_thread_join(t1);
	EventSub *s2 = event_bus_subscribe(bus);
	GThread *t2 = g_thread_new("closer", closer, bus);
	g_clear_error(&error);
	assert_null(event_sub_next(s2, &error));
	assert_true(
		g_error_matches(error, BERTH_ERROR, BERTH_ERROR_UNAVAILABLE));
	g_thread_join(t2);
	event_bus_unsubscribe(bus, s);
	event_bus_unsubscribe(bus, s2);
	event_bus_free(bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_fanout),
		cmocka_unit_test(test_late_subscriber_sees_only_new),
		cmocka_unit_test(test_backlog_cut_off),
		cmocka_unit_test(test_wake_and_close),
	};
	return cmocka_run_group_tests_name("events", tests, NULL, NULL);
}
