/* What ends a container: its monitor's exit file (an inotify event), or
 * the monitor itself going away without one; and what tells whether the
 * monitor and the container it started still live. */
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "sandbox/container/ctr-private.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* --- exits --------------------------------------------------------------- */

char *ctr_exit_path(CtrManager *m, const char *id)
{
	return g_build_filename(m->exit_dir, id, NULL);
}

#define TERMINATION_MESSAGE_MAX 4096

/* What the container wrote to /dev/termination-log (our file in its dir;
 * when the request mounts its own there, kubelet reads that itself). */
static char *termination_message(Container *c)
{
	g_autofree char *path =
		g_build_filename(c->dir, "termination-log", NULL);
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, NULL) || len == 0)
		return NULL;
	len = MIN(len, (gsize)TERMINATION_MESSAGE_MAX);
	if (!g_utf8_validate(text, len, NULL))
		return g_strdup("(termination message is not UTF-8)");
	return g_strndup(text, len);
}

/* Apply the monitor's exit file to c; FALSE when there is none yet. */
gboolean ctr_apply_exit(CtrManager *m, Container *c)
{
	ConmonExit ex;
	g_autoptr(GError) error = NULL;
	if (!conmon_read_exit(m->exit_dir, c->id, &ex, &error))
		return FALSE;
	g_mutex_lock(&c->lock);
	if (c->starting) {
		g_mutex_unlock(&c->lock);
		return TRUE; /* StartContainer applies it after STARTED */
	}
	gboolean changed = c->state == CTR_RUNNING || c->state == CTR_CREATED;
	if (changed) {
		char *msg = termination_message(c);
		if (msg != NULL) {
			g_free(c->message);
			c->message = msg;
		}
		c->state = CTR_EXITED;
		c->exit_code = ex.exit_code;
		/* Two clocks read apart: never report an end before a start. */
		c->finished_at = MAX(ex.finished_at, c->started_at);
		g_free(c->reason);
		c->reason = g_strdup(ex.oom_killed	 ? "OOMKilled"
				     : ex.exit_code == 0 ? "Completed"
							 : "Error");
		c->pid = 0;
		g_cond_broadcast(&c->cond);
	}
	g_mutex_unlock(&c->lock);
	if (changed) {
		ctr_save_or_log(m, c);
		if (ex.oom_killed)
			berth_metrics_oom_kill();
		log_info("container %s exited with %d%s", c->id, ex.exit_code,
			 ex.oom_killed ? " (OOM killed)" : "");
		ctr_publish(m, c, CTR_EVENT_STOPPED);
	}
	return TRUE;
}

void ctr_on_exit_file(const char *id, gpointer data)
{
	CtrManager *m = data;
	g_autoptr(Container) c = store_lookup(m->store, id, NULL);
	if (c != NULL)
		ctr_apply_exit(m, c);
}

/* Exited without an exit file (none will come): code, reason and why. */
void ctr_set_exited(CtrManager *m, Container *c, int code, const char *reason,
		    const char *why)
{
	g_mutex_lock(&c->lock);
	c->state = CTR_EXITED;
	c->exit_code = code;
	c->finished_at = MAX(g_get_real_time() * 1000,
			     MAX(c->created_at, c->started_at));
	g_free(c->reason);
	c->reason = g_strdup(reason);
	g_free(c->message);
	c->message = g_strdup(why);
	c->pid = 0;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	ctr_save_or_log(m, c);
	ctr_publish(m, c, CTR_EVENT_STOPPED);
}

/* Mark a container whose monitor vanished without an exit file. */
void ctr_mark_lost(CtrManager *m, Container *c, const char *why)
{
	berth_metrics_monitor_lost();
	ctr_set_exited(m, c, 255, "ContainerMonitorLost", why);
}

/* A container whose monitor is gone without an exit file while it runs:
 * it can no longer be logged or waited for, so it is killed (through the
 * runtime: no monitor answers) and reported lost. */
void ctr_kill_lost(CtrManager *m, Container *c, const char *why)
{
	g_autoptr(GError) error = NULL;
	if (!ctr_signal_init(m, c, SIGKILL, &error))
		log_warn("container %s: %s", c->id, error->message);
	ctr_mark_lost(m, c, why);
}

/* A monitor exited. It writes the exit file first, so with none it was
 * killed: the container can no longer be logged or waited for, so it is
 * killed too and reported with a reason that says why. */
void ctr_on_monitor_gone(const char *id, gpointer data)
{
	CtrManager *m = data;
	g_autoptr(Container) c = store_lookup(m->store, id, NULL);
	if (c == NULL || ctr_apply_exit(m, c))
		return;
	g_mutex_lock(&c->lock);
	CtrState s = c->state;
	gboolean starting = c->starting;
	g_mutex_unlock(&c->lock);
	if (s == CTR_CREATED && !starting) {
		/* The monitor of a start begun by an earlier berthd: that
		 * start failed. The next start, stop or remove cleans up. */
		log_info("container %s: the start begun by an earlier berthd "
			 "did not succeed",
			 c->id);
		return;
	}
	if (s != CTR_RUNNING && s != CTR_CREATED)
		return;
	log_warn("container %s: its monitor died without an exit status",
		 c->id);
	ctr_kill_lost(m, c,
		      "its monitor (berth-conmon) was killed; the "
		      "container was killed with it");
}

/* Watch the monitor of c, found through its pid file. */
void ctr_watch_monitor(CtrManager *m, Container *c)
{
	int pid = 0;
	g_autoptr(GError) error = NULL;
	if (!conmon_monitor_pid(c->socket_dir, &pid, &error) ||
	    !monwatch_add(m->monitors, pid, c->id, &error))
		log_warn("container %s: cannot watch its monitor: %s", c->id,
			 error ? error->message : "no pid");
}

/* The monitor of a container still runs (its pid file names a live
 * process). A reboot empties the runroot, and so the pid file. */
gboolean ctr_monitor_alive(const char *socket_dir)
{
	int pid = 0;
	return conmon_monitor_pid(socket_dir, &pid, NULL) && pid > 0 &&
	       (kill(pid, 0) == 0 || errno == EPERM);
}

/* The pid the runtime wrote in the socket dir once it made the
 * container, when that process lives; else 0. */
int ctr_runtime_pid_file(Container *c)
{
	g_autofree char *path = g_build_filename(
		c->socket_dir, CONMON_CONTAINER_PID_FILE, NULL);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;
	gint64 pid = g_ascii_strtoll(text, NULL, 10);
	if (pid <= 0 || pid > G_MAXINT ||
	    (kill((pid_t)pid, 0) < 0 && errno != EPERM))
		return 0;
	return (int)pid;
}
