/* Container recovery at start-up: load the records, undo what a killed
 * berthd left half made, take the exits that happened while it was down,
 * then watch the exits dir and the monitors. */
#include "sandbox/container/ctr-private.h"
#include "util/error.h"
#include "util/log.h"

/* --- recovery ------------------------------------------------------------ */

/* A container recorded as created: a start may have been under way when
 * berthd stopped. Its runtime pid file says the start went through; a
 * live monitor without one is still at it (a later start, stop or remove
 * waits for it); what a dead one left is undone (the one case that runs
 * the runtime here). */
static void recover_created(CtrManager *m, Container *c)
{
	g_autoptr(Pod) p =
		store_lookup(pod_manager_store(m->pods), c->pod_id, NULL);
	gboolean alive = ctr_monitor_alive(c->socket_dir);
	int pid = ctr_runtime_pid_file(c);
	if (alive && pid > 0) {
		ctr_take_earlier_start(m, c, pid);
		return;
	}
	if (alive)
		return;
	if (pid > 0) {
		/* Started, and its monitor killed meanwhile: as when a
		 * running container loses its monitor. */
		ctr_kill_lost(m, c,
			      "its monitor is gone (killed while berthd "
			      "was down)");
		return;
	}
	ctr_undo_start(m, c);
	if (p == NULL || pod_get_state(p) != POD_READY)
		ctr_set_exited(m, c, NEVER_RAN_EXIT_CODE, "Error",
			       "its pod sandbox is not ready (stopped, or the "
			       "host rebooted)");
}

static void recover_one(CtrManager *m, Container *c)
{
	g_autoptr(GError) error = NULL;
	switch (c->state) {
	case CTR_CREATING:
	case CTR_REMOVING:
		log_info("container %s was half %s when berthd stopped: "
			 "removing it",
			 c->id, c->state == CTR_CREATING ? "made" : "removed");
		if (!ctr_undo_create(m, c, &error) ||
		    !store_delete(m->store, c->id, &error))
			log_error("container %s: %s", c->id, error->message);
		return;
	case CTR_CREATED:
	case CTR_RUNNING:
		store_add(m->store, c);
		if (ctr_apply_exit(m, c))
			return; /* exited while berthd was down */
		if (c->state == CTR_CREATED)
			recover_created(m, c);
		else if (!ctr_monitor_alive(c->socket_dir))
			ctr_mark_lost(m, c,
				      "its monitor is gone (killed, or the "
				      "host rebooted)");
		return;
	case CTR_EXITED:
		store_add(m->store, c);
		return;
	}
}

gboolean ctr_manager_recover(CtrManager *m, GError **error)
{
	g_autoptr(GPtrArray) found = store_read_all(m->store);
	for (guint i = 0; i < found->len; i++)
		recover_one(m, g_ptr_array_index(found, i));
	log_info("recovered %u containers", store_count(m->store));
	m->watch = exit_watch_new(m->exit_dir, ctr_on_exit_file, m, error);
	if (m->watch == NULL)
		return FALSE;
	m->monitors = monwatch_new(ctr_on_monitor_gone, m, error);
	if (m->monitors == NULL)
		return FALSE;
	/* Exits that landed between the scan and the watch. */
	g_autoptr(GPtrArray) all = store_list(m->store);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		CtrState s = container_get_state(c);
		gboolean monitored =
			s == CTR_RUNNING ||
			(s == CTR_CREATED && ctr_monitor_alive(c->socket_dir));
		if (monitored && !ctr_apply_exit(m, c))
			ctr_watch_monitor(m, c);
	}
	return TRUE;
}
