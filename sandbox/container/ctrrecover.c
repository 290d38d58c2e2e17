/* Container recovery at start-up: load the records, undo what a killed
 * berthd left half made, take the exits that happened while it was down,
 * then watch the exits dir and the monitors. */
#include "conmon/client.h"
#include "sandbox/container/ctr-private.h"
#include "util/error.h"
#include "util/log.h"

CtrRecovery ctr_recovery_decide(const CtrRecoveryFacts *f)
{
	switch (f->state) {
	case CTR_CREATING:
	case CTR_REMOVING:
		return CTR_RECOVER_REMOVE;
	case CTR_EXITED:
		return CTR_RECOVER_KEEP;
	case CTR_CREATED:
	case CTR_RUNNING:
		break;
	}
	if (f->exit_file)
		return CTR_RECOVER_EXIT_FILE;
	if (f->state == CTR_RUNNING)
		return f->monitor_alive ? CTR_RECOVER_KEEP : CTR_RECOVER_LOST;
	/* Created: a start may have been under way when berthd stopped.
	 * The runtime's pid file says the start went through; a live
	 * monitor without one is still at it (the next start, stop or
	 * remove waits for it). */
	if (f->started)
		return f->monitor_alive ? CTR_RECOVER_ADOPT
					: CTR_RECOVER_KILL_LOST;
	if (f->monitor_alive)
		return CTR_RECOVER_START_UNDER_WAY;
	return f->pod_ready ? CTR_RECOVER_UNDO_START : CTR_RECOVER_NEVER_RAN;
}

/* The facts ctr_recovery_decide needs, read only where c's state makes
 * them matter. *pid: the runtime's pid of a started one. */
static void gather(CtrManager *m, Container *c, CtrRecoveryFacts *f, int *pid)
{
	*f = (CtrRecoveryFacts){.state = c->state};
	*pid = 0;
	if (c->state != CTR_CREATED && c->state != CTR_RUNNING)
		return;
	ConmonExit ex;
	f->exit_file = conmon_read_exit(m->exit_dir, c->id, &ex, NULL);
	f->monitor_alive = ctr_monitor_alive(c->socket_dir);
	if (c->state != CTR_CREATED)
		return;
	*pid = ctr_runtime_pid_file(c);
	f->started = *pid > 0;
	g_autoptr(Pod) p =
		store_lookup(pod_manager_store(m->pods), c->pod_id, NULL);
	f->pod_ready = p != NULL && pod_get_state(p) == POD_READY;
}

static void recover_one(CtrManager *m, Container *c)
{
	CtrRecoveryFacts f;
	int pid = 0;
	gather(m, c, &f, &pid);
	CtrRecovery what = ctr_recovery_decide(&f);
	if (what == CTR_RECOVER_REMOVE) {
		g_autoptr(GError) error = NULL;
		log_info("container %s was half %s when berthd stopped: "
			 "removing it",
			 c->id, c->state == CTR_CREATING ? "made" : "removed");
		if (!ctr_undo_create(m, c, &error) ||
		    !store_delete(m->store, c->id, &error))
			log_error("container %s: %s", c->id, error->message);
		return;
	}
	store_add(m->store, c);
	switch (what) {
	case CTR_RECOVER_REMOVE:
	case CTR_RECOVER_KEEP:
	case CTR_RECOVER_START_UNDER_WAY:
		return;
	case CTR_RECOVER_EXIT_FILE:
		ctr_apply_exit(m, c);
		return;
	case CTR_RECOVER_LOST:
		ctr_mark_lost(m, c,
			      "its monitor is gone (killed, or the host "
			      "rebooted)");
		return;
	case CTR_RECOVER_ADOPT:
		ctr_take_earlier_start(m, c, pid);
		return;
	case CTR_RECOVER_KILL_LOST:
		/* Started, and its monitor killed meanwhile: as when a
		 * running container loses its monitor. */
		ctr_kill_lost(m, c,
			      "its monitor is gone (killed while berthd "
			      "was down)");
		return;
	case CTR_RECOVER_UNDO_START:
		ctr_undo_start(m, c);
		return;
	case CTR_RECOVER_NEVER_RAN:
		ctr_undo_start(m, c);
		ctr_set_exited(m, c, NEVER_RAN_EXIT_CODE, "Error",
			       "its pod sandbox is not ready (stopped, or the "
			       "host rebooted)");
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
