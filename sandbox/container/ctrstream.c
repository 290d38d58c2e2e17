/* Containers and pods for the streaming server. */
#include "sandbox/container/ctrstream.h"
#include "sandbox/container/ctr-private.h"

#include "conmon/client.h"
#include "sandbox/pod/podstore.h"
#include "util/error.h"

static Container *running(CtrManager *m, const char *id, GError **error)
{
	Container *c = ctr_manager_lookup(m, id, error);
	if (c == NULL)
		return NULL;
	if (container_get_state(c) != CTR_RUNNING) {
		berth_throw(error, FAILED_PRECONDITION,
			    "container %s is not running", c->id);
		container_unref(c);
		return NULL;
	}
	return c;
}

gboolean ctr_stream_check(CtrManager *m, const char *id, char **full_id,
			  gboolean *tty, gboolean *stdin_open, GError **error)
{
	g_autoptr(Container) c = running(m, id, error);
	if (c == NULL)
		return FALSE;
	if (full_id)
		*full_id = g_strdup(c->id);
	if (tty)
		*tty = c->config->tty;
	if (stdin_open)
		*stdin_open = c->config->stdin_;
	return TRUE;
}

int ctr_stream_exec(CtrManager *m, const char *id, char *const *cmd,
		    gboolean tty, gboolean stdin_open, GError **error)
{
	g_autoptr(Container) c = running(m, id, error);
	if (c == NULL)
		return -1;
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return -1;
	ConmonExecOptions o = {
		.conmon_path = m->conmon_path,
		.id = c->id,
		.runtime_path = rt->path,
		.runtime_root = rt->root,
		.socket_dir = c->socket_dir,
		.argv = (const char *const *)cmd,
		.terminal = tty,
		.stdin_open = stdin_open,
		.timeout_ms = rt->timeout_ms,
	};
	int fd = -1, pid = 0;
	if (!conmon_exec_start(&o, &fd, &pid, error))
		return -1;
	return fd;
}

int ctr_stream_attach(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(Container) c = running(m, id, error);
	if (c == NULL)
		return -1;
	return conmon_attach_connect(c->socket_dir, error);
}

gboolean ctr_stream_resize(CtrManager *m, const char *id, guint rows,
			   guint cols, GError **error)
{
	g_autoptr(Container) c = running(m, id, error);
	return c != NULL && conmon_resize(c->socket_dir, rows, cols, error);
}

gboolean pod_stream_netns(PodManager *m, const char *id, char **full_id,
			  char **netns, GError **error)
{
	g_autoptr(Pod) p = store_lookup(pod_manager_store(m), id, error);
	if (p == NULL)
		return FALSE;
	g_mutex_lock(&p->lock);
	gboolean ready = p->state == POD_READY;
	*netns = g_strdup(p->netns);
	g_mutex_unlock(&p->lock);
	if (!ready) {
		g_clear_pointer(netns, g_free);
		return berth_throw(error, FAILED_PRECONDITION,
				   "pod %s is not ready", p->id);
	}
	*full_id = g_strdup(p->id);
	return TRUE;
}
