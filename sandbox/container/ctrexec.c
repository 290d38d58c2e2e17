/* ExecSync (`runtime exec` with a deadline that kills the process in the
 * container, not just the runtime's client) and ReopenContainerLog. */
#include "conmon/client.h"
#include "sandbox/container/ctr-private.h"
#include "util/error.h"
#include "util/jsonutil.h"
#include "util/spawn.h"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* --- exec and logs ------------------------------------------------------- */

void exec_result_clear(ExecResult *r)
{
	if (r->out)
		g_string_free(r->out, TRUE);
	if (r->err)
		g_string_free(r->err, TRUE);
	memset(r, 0, sizeof *r);
}

#define EXEC_MAX_OUTPUT (16 * 1024 * 1024)

/* Kills an exec'd process at its deadline while the runtime's client is
 * still alive. The client (runc or crun exec) is the process's parent and
 * subreaper: it reaps it and exits. Killing the client first would orphan
 * the process to the container's init, which seldom reaps (critest's
 * `top`), and leave a zombie named like the command in the container. */
typedef struct {
	GMutex lock;
	GCond cond;
	gboolean done;	 /* the client exited; stop watching */
	gboolean killed; /* the deadline passed and the process was killed */
	gint64 deadline; /* monotonic, us */
	const char *pidfile;
} ExecWatch;

static pid_t exec_pid(const char *pidfile)
{
	g_autofree char *text = NULL;
	if (!g_file_get_contents(pidfile, &text, NULL, NULL))
		return 0;
	return (pid_t)MAX(atoi(text), 0);
}

static gpointer exec_watch_run(gpointer data)
{
	ExecWatch *w = data;
	g_mutex_lock(&w->lock);
	gint64 until = w->deadline;
	while (!w->done) {
		if (g_cond_wait_until(&w->cond, &w->lock, until) || w->done)
			continue;
		/* The pid file appears once the process started: retry
		 * briefly until it does or the client is gone. */
		pid_t pid = exec_pid(w->pidfile);
		if (pid > 0 && kill(pid, SIGKILL) == 0) {
			w->killed = TRUE;
			break;
		}
		until = g_get_monotonic_time() + 50 * G_TIME_SPAN_MILLISECOND;
	}
	g_mutex_unlock(&w->lock);
	return NULL;
}

static void exec_watch_stop(ExecWatch *w, GThread *t)
{
	g_mutex_lock(&w->lock);
	w->done = TRUE;
	g_cond_signal(&w->cond);
	g_mutex_unlock(&w->lock);
	g_thread_join(t);
	g_mutex_clear(&w->lock);
	g_cond_clear(&w->cond);
}

/* The process of an exec: the container's own (user, supplementary
 * groups, capabilities, env, cwd, no_new_privs) with cmd as its args and
 * no terminal. runc fills an exec's process from the container's, but
 * crun runs it as 0:0 unless told, so both are given the whole of it. */
static gboolean exec_process_file(const Container *c, char *const *cmd,
				  const char *path, GError **error)
{
	g_autofree char *config = g_build_filename(c->dir, "config.json", NULL);
	json_error_t jerr;
	g_autoptr(json_t) spec = json_load_file(config, 0, &jerr);
	if (spec == NULL)
		return berth_throw(error, INTERNAL, "container %s: read %s: %s",
				   c->id, config, jerr.text);
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc))
		return berth_throw(error, INTERNAL,
				   "container %s: %s has no process", c->id,
				   config);
	json_object_set_new(proc, "args", berth_json_from_strv(cmd));
	json_object_set_new(proc, "terminal", json_false());
	json_object_del(proc, "consoleSize");
	if (json_dump_file(proc, path, JSON_COMPACT) < 0)
		return berth_throw(error, INTERNAL,
				   "container %s: write exec process %s", c->id,
				   path);
	return TRUE;
}

/* The client gets this long after the deadline to reap the killed process
 * and exit before it is killed itself. */
#define EXEC_REAP_GRACE_MS 10000

/* `runtime exec` with a pid file, so that on a timeout the process in the
 * container is killed, not just the runtime's client. */
gboolean ctr_manager_exec_sync(CtrManager *m, const char *id, char *const *cmd,
			       gint64 timeout_s, ExecResult *out,
			       GError **error)
{
	memset(out, 0, sizeof *out);
	g_autoptr(Container) c = store_lookup(m->store, id, error);
	if (c == NULL)
		return FALSE;
	if (container_get_state(c) != CTR_RUNNING)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is not running", c->id);
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	guint32 tag = g_random_int();
	g_autofree char *pidfile =
		g_strdup_printf("%s/exec-%08x.pid", c->socket_dir, tag);
	g_autofree char *procfile =
		g_strdup_printf("%s/exec-%08x.json", c->socket_dir, tag);
	if (!exec_process_file(c, cmd, procfile, error))
		return FALSE;
	const char *argv[] = {rt->path,	   "--root", rt->root,	   "exec",
			      "--process", procfile, "--pid-file", pidfile,
			      c->id,	   NULL};
	SpawnOptions o = {.argv = argv,
			  .timeout_ms = timeout_s > 0
						? timeout_s * 1000 +
							  EXEC_REAP_GRACE_MS
						: 0,
			  .max_output = EXEC_MAX_OUTPUT};
	ExecWatch w = {.pidfile = pidfile,
		       .deadline = g_get_monotonic_time() +
				   timeout_s * G_TIME_SPAN_SECOND};
	g_mutex_init(&w.lock);
	g_cond_init(&w.cond);
	GThread *watcher =
		timeout_s > 0 ? g_thread_new("exec-timeout", exec_watch_run, &w)
			      : NULL;
	SpawnResult r;
	gboolean ran = spawn_sync(&o, &r, error);
	unlink(procfile);
	if (watcher != NULL) {
		exec_watch_stop(&w, watcher);
	} else {
		g_mutex_clear(&w.lock);
		g_cond_clear(&w.cond);
	}
	if (!ran) {
		unlink(pidfile);
		return FALSE;
	}
	if (w.killed || r.timed_out) {
		pid_t pid = exec_pid(pidfile);
		if (r.timed_out && pid > 0)
			kill(pid, SIGKILL);
		unlink(pidfile);
		spawn_result_clear(&r);
		return berth_throw(error, DEADLINE_EXCEEDED,
				   "command timed out after %" G_GINT64_FORMAT
				   " s and was killed",
				   timeout_s);
	}
	unlink(pidfile);
	out->exit_code = WIFEXITED(r.status) ? WEXITSTATUS(r.status)
					     : 128 + WTERMSIG(r.status);
	out->out = r.out;
	out->err = r.err;
	return TRUE;
}

gboolean ctr_manager_reopen_log(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(Container) c = store_lookup(m->store, id, error);
	if (c == NULL)
		return FALSE;
	if (container_get_state(c) != CTR_RUNNING)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is not running: no log to "
				   "reopen",
				   c->id);
	return conmon_reopen_log(c->socket_dir, error);
}
