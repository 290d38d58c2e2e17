/* Containers: create -> start -> (exit event) -> stop -> remove, and
 * recovery. Create's steps: record (creating) -> rootfs overlay -> OCI
 * spec -> log dir -> record (created); no runtime runs. Start: the
 * monitor has the runtime create and start the container in one call
 * (`run --detach`) -> record (running). Undo runs the other way; every
 * undo step is idempotent. */
#include "sandbox/container/ctrlife.h"
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "image/manifest.h"
#include "sandbox/container/ctrconfig-json.h"
#include "sandbox/container/exits.h"
#include "sandbox/index.h"
#include "sandbox/container/monwatch.h"
#include "sandbox/spec/spec.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/jsonutil.h"
#include "util/log.h"
#include "util/spawn.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define KILL_WAIT_S 10
/* How long a start begun by an earlier berthd may still take: the
 * monitor's bound on the runtime, and some. */
#define ADOPT_WAIT_MS ((CONMON_DEFAULT_TIMEOUT_S + 5) * 1000u)
/* A container stopped or lost before it ever ran. */
#define NEVER_RAN_EXIT_CODE (128 + SIGKILL)
/* A start that failed, as kubelet knows it from containerd. */
#define START_ERROR_EXIT_CODE 128

struct CtrManager {
	const BerthConfig *config;
	PodManager *pods;
	ImageStore *images;
	OciRuntimes *runtimes;
	EventBus *events;
	char *conmon_path;
	char *dir;	 /* <root>/containers */
	char *sock_root; /* <runroot>/containers */
	char *exit_dir;	 /* <runroot>/exits */
	Index *index;
	ExitWatch *watch;
	MonWatch *monitors;
	OciHostInfo host;
};

/* --- index glue ---------------------------------------------------------- */

static const char *ix_id(gpointer c)
{
	return ((Container *)c)->id;
}

static const char *ix_name(gpointer c)
{
	return ((Container *)c)->full_name;
}

static gpointer ix_ref(gpointer c)
{
	return container_ref(c);
}

static void ix_unref(gpointer c)
{
	container_unref(c);
}

static gboolean ix_visible(gpointer c)
{
	return container_get_state(c) != CTR_CREATING;
}

static const IndexOps ctr_index_ops = {
	.what = "container",
	.id = ix_id,
	.name = ix_name,
	.ref = ix_ref,
	.unref = ix_unref,
	.visible = ix_visible,
};

CtrManager *ctr_manager_new(const CtrManagerDeps *d, GError **error)
{
	g_autofree char *dir =
		g_build_filename(d->config->root, "containers", NULL);
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	CtrManager *m = g_new0(CtrManager, 1);
	m->config = d->config;
	m->pods = d->pods;
	m->images = d->images;
	m->runtimes = d->runtimes;
	m->events = d->events;
	m->conmon_path = g_strdup(d->conmon_path);
	m->dir = g_steal_pointer(&dir);
	m->sock_root = g_build_filename(d->config->runroot, "containers", NULL);
	m->exit_dir = g_build_filename(d->config->runroot, "exits", NULL);
	m->index = index_new(&ctr_index_ops);
	if (!oci_spec_host_probe(&m->host, error)) {
		ctr_manager_free(m);
		return NULL;
	}
	return m;
}

void ctr_manager_free(CtrManager *m)
{
	if (m == NULL)
		return;
	exit_watch_free(m->watch);
	monwatch_free(m->monitors);
	index_free(m->index);
	g_free(m->conmon_path);
	g_free(m->dir);
	g_free(m->sock_root);
	g_free(m->exit_dir);
	g_free(m);
}

Container *ctr_manager_lookup(CtrManager *m, const char *id, GError **error)
{
	return index_lookup(m->index, id, error);
}

static gint by_created(gconstpointer a, gconstpointer b)
{
	const Container *x = *(Container *const *)a;
	const Container *y = *(Container *const *)b;
	return (x->created_at > y->created_at) -
	       (x->created_at < y->created_at);
}

GPtrArray *ctr_manager_list(CtrManager *m)
{
	return index_list(m->index, by_created);
}

/* --- records and events -------------------------------------------------- */

static gboolean save(CtrManager *m, Container *c, GError **error)
{
	(void)m;
	g_autofree char *path =
		g_build_filename(c->dir, "container.json", NULL);
	if (!berth_mkdir_p(c->dir, 0700, error))
		return FALSE;
	g_mutex_lock(&c->lock);
	g_autofree char *text = container_to_json(c);
	g_mutex_unlock(&c->lock);
	return berth_write_file_atomic(path, text, strlen(text), 0600, error);
}

static void save_or_log(CtrManager *m, Container *c)
{
	g_autoptr(GError) error = NULL;
	if (!save(m, c, &error))
		log_error("container %s: %s", c->id, error->message);
}

static void publish(CtrManager *m, Container *c, CtrEventType type)
{
	CtrEvent *ev = g_new0(CtrEvent, 1);
	ev->type = type;
	ev->container_id = g_strdup(c->id);
	ev->pod_id = g_strdup(c->pod_id);
	ev->created_at = g_get_real_time() * 1000;
	event_bus_publish(m->events, ev);
}

/* --- runtime calls ------------------------------------------------------- */

static const OciRuntime *runtime_of(CtrManager *m, Container *c, GError **error)
{
	const OciRuntime *rt = oci_runtimes_get(m->runtimes, c->runtime);
	if (rt == NULL)
		berth_throw(error, FAILED_PRECONDITION,
			    "runtime handler %s is no longer configured",
			    c->runtime);
	return rt;
}

gboolean ctr_manager_save(CtrManager *m, Container *c, GError **error)
{
	return save(m, c, error);
}

const OciRuntime *ctr_manager_runtime(CtrManager *m, Container *c,
				      GError **error)
{
	return runtime_of(m, c, error);
}

const char *ctr_manager_conmon_path(CtrManager *m)
{
	return m->conmon_path;
}

PodManager *ctr_manager_pods(CtrManager *m)
{
	return m->pods;
}

static gboolean runtime_delete(CtrManager *m, Container *c, GError **error)
{
	const OciRuntime *rt = runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	const char *args[] = {"delete", "--force", c->id, NULL};
	g_autoptr(GError) local = NULL;
	if (oci_runtime_run(rt, NULL, args, NULL, &local) ||
	    oci_runtime_gone(local))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/* Signal the container init: through its monitor, which holds it as an
 * unreaped child and so signals exactly it, at the cost of a message; or,
 * when no monitor answers (it died, or predates the kill command),
 * through `runtime kill`, a runtime process. */
static gboolean signal_init(CtrManager *m, Container *c, int sig,
			    GError **error)
{
	g_autoptr(GError) via = NULL;
	if (conmon_kill(c->socket_dir, sig, &via))
		return TRUE;
	log_debug("container %.12s: signal %d through the runtime: %s", c->id,
		  sig, via->message);
	const OciRuntime *rt = runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	g_autofree char *s = g_strdup_printf("%d", sig);
	const char *args[] = {"kill", c->id, s, NULL};
	g_autoptr(GError) local = NULL;
	if (oci_runtime_run(rt, NULL, args, NULL, &local))
		return TRUE;
	/* Already exited (or gone): the exit event settles it. */
	if (oci_runtime_gone(local) || strstr(local->message, "not running") ||
	    strstr(local->message, "process already finished"))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/* --- exits --------------------------------------------------------------- */

static char *exit_path(CtrManager *m, const char *id)
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
static gboolean apply_exit(CtrManager *m, Container *c)
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
		save_or_log(m, c);
		log_info("container %s exited with %d%s", c->id, ex.exit_code,
			 ex.oom_killed ? " (OOM killed)" : "");
		publish(m, c, CTR_EVENT_STOPPED);
	}
	return TRUE;
}

static void on_exit_file(const char *id, gpointer data)
{
	CtrManager *m = data;
	g_autoptr(Container) c = index_lookup(m->index, id, NULL);
	if (c != NULL)
		apply_exit(m, c);
}

/* Exited without an exit file (none will come): code, reason and why. */
static void set_exited(CtrManager *m, Container *c, int code,
		       const char *reason, const char *why)
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
	save_or_log(m, c);
	publish(m, c, CTR_EVENT_STOPPED);
}

/* Mark a container whose monitor vanished without an exit file. */
static void mark_lost(CtrManager *m, Container *c, const char *why)
{
	set_exited(m, c, 255, "ContainerMonitorLost", why);
}

/* A container whose monitor is gone without an exit file while it runs:
 * it can no longer be logged or waited for, so it is killed (through the
 * runtime: no monitor answers) and reported lost. */
static void kill_lost(CtrManager *m, Container *c, const char *why)
{
	g_autoptr(GError) error = NULL;
	if (!signal_init(m, c, SIGKILL, &error))
		log_warn("container %s: %s", c->id, error->message);
	mark_lost(m, c, why);
}

/* A monitor exited. It writes the exit file first, so with none it was
 * killed: the container can no longer be logged or waited for, so it is
 * killed too and reported with a reason that says why. */
static void on_monitor_gone(const char *id, gpointer data)
{
	CtrManager *m = data;
	g_autoptr(Container) c = index_lookup(m->index, id, NULL);
	if (c == NULL || apply_exit(m, c))
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
	kill_lost(m, c,
		  "its monitor (berth-conmon) was killed; the "
		  "container was killed with it");
}

/* Watch the monitor of c, found through its pid file. */
static void watch_monitor(CtrManager *m, Container *c)
{
	int pid = 0;
	g_autoptr(GError) error = NULL;
	if (!conmon_monitor_pid(c->socket_dir, &pid, &error) ||
	    !monwatch_add(m->monitors, pid, c->id, &error))
		log_warn("container %s: cannot watch its monitor: %s", c->id,
			 error ? error->message : "no pid");
}

/* --- create -------------------------------------------------------------- */

static gboolean step_rootfs(CtrManager *m, Container *c, GError **error)
{
	g_autofree char *rootfs = NULL;
	return image_rootfs_mount(m->images, c->image_id, c->dir, &rootfs,
				  error);
}

static gboolean step_log_dir(CtrManager *m, Container *c, GError **error)
{
	(void)m;
	if (c->log_path[0] == '\0')
		return TRUE;
	g_autofree char *dir = g_path_get_dirname(c->log_path);
	return berth_mkdir_p(dir, 0755, error);
}

/* The monitor, which has the runtime create and start the container;
 * the container init's pid in *pid. */
static gboolean start_monitor(CtrManager *m, Container *c, int *pid,
			      GError **error)
{
	const OciRuntime *rt = runtime_of(m, c, error);
	if (rt == NULL || !berth_mkdir_p(c->socket_dir, 0700, error) ||
	    !berth_mkdir_p(m->exit_dir, 0700, error))
		return FALSE;
	g_autofree char *log =
		c->log_path[0] ? g_strdup(c->log_path)
			       : g_build_filename(c->dir, "ctr.log", NULL);
	ConmonOptions o = {
		.conmon_path = m->conmon_path,
		.id = c->id,
		.bundle = c->dir,
		.runtime_path = rt->path,
		.runtime_root = rt->root,
		.log_path = log,
		.exit_dir = m->exit_dir,
		.socket_dir = c->socket_dir,
		.terminal = c->config->tty,
		.stdin_open = c->config->stdin_,
		.start = TRUE,
	};
	if (!conmon_start(&o, pid, error))
		return FALSE;
	watch_monitor(m, c);
	return TRUE;
}

static gboolean undo_create(CtrManager *m, Container *c, GError **error)
{
	GError *first = NULL;
	for (int step = 0; step < 2; step++) {
		GError *e = NULL;
		gboolean ok =
			step == 0 ? runtime_delete(m, c, &e)
				  : image_rootfs_unmount(m->images, c->image_id,
							 c->dir, &e);
		if (!ok && first == NULL)
			first = e;
		else if (!ok)
			g_error_free(e);
	}
	g_autofree char *exit_file = exit_path(m, c->id);
	unlink(exit_file);
	berth_rm_rf(c->socket_dir, NULL);
	if (first != NULL) {
		g_propagate_error(error, first);
		return FALSE;
	}
	return TRUE;
}

static gboolean delete_record(CtrManager *m, Container *c, GError **error)
{
	(void)m;
	g_autofree char *record =
		g_build_filename(c->dir, "container.json", NULL);
	g_autoptr(GDir) d = g_dir_open(c->dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (strcmp(name, "container.json") == 0)
			continue;
		g_autofree char *path = g_build_filename(c->dir, name, NULL);
		if (!berth_rm_rf(path, error))
			return FALSE;
	}
	if (unlink(record) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", record);
	if (rmdir(c->dir) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", c->dir);
	return TRUE;
}

/* The target of pid mode TARGET: a running container of the same pod. */
static int target_pid(CtrManager *m, Container *c, GError **error)
{
	const char *target = c->config->security.ns_target_id;
	g_autoptr(Container) t = index_lookup(m->index, target, error);
	if (t == NULL)
		return -1;
	g_mutex_lock(&t->lock);
	int pid = t->state == CTR_RUNNING && strcmp(t->pod_id, c->pod_id) == 0
			  ? t->pid
			  : 0;
	g_mutex_unlock(&t->lock);
	if (pid <= 0) {
		berth_throw(error, FAILED_PRECONDITION,
			    "target container %s is not running in pod %s",
			    t->id, c->pod_id);
		return -1;
	}
	return pid;
}

/* The OCI config.json for c in its pod, written into the bundle. */
static gboolean step_spec(CtrManager *m, Container *c, GError **error)
{
	g_autoptr(Pod) p =
		pod_store_lookup(pod_manager_store(m->pods), c->pod_id, error);
	g_autoptr(ImageRecord) img =
		p ? image_store_lookup(m->images, c->image_id, error) : NULL;
	if (img == NULL)
		return FALSE;
	g_autoptr(ImageConfig) icfg = NULL;
	if (img->config_json != NULL &&
	    !image_config_parse(img->config_json, strlen(img->config_json),
				&icfg, error))
		return FALSE;
	int tpid = 0;
	if (c->config->security.ns_pid == POD_NS_TARGET &&
	    (tpid = target_pid(m, c, error)) < 0)
		return FALSE;
	g_autofree char *pod_dir =
		pod_store_pod_dir(pod_manager_store(m->pods), p->id);
	g_autofree char *resolv =
		g_build_filename(pod_dir, "resolv.conf", NULL);
	g_autofree char *hosts = g_build_filename(pod_dir, "hosts", NULL);
	g_autofree char *hostname = g_build_filename(pod_dir, "hostname", NULL);
	g_autofree char *shm = pod_manager_shm_path(m->pods, p);
	g_autofree char *rootfs = g_build_filename(c->dir, "rootfs", NULL);
	g_autofree char *term =
		g_build_filename(c->dir, "termination-log", NULL);
	if (!g_file_set_contents(term, "", 0, error))
		return FALSE;
	CtrSpecContext ctx = {
		.id = c->id,
		.rootfs = rootfs,
		.pod = p->config,
		.netns = p->netns,
		.ipcns = p->ipcns,
		.utsns = p->utsns,
		.infra_pid = p->infra_pid,
		.target_pid = tpid,
		.pod_cgroup = p->cgroup,
		.image = icfg,
		.resolv_conf = resolv,
		.hosts = hosts,
		.hostname_file = hostname,
		.shm_path = shm,
		.termination_log = term,
		.default_capabilities =
			(const char *const *)m->config->default_capabilities,
		.pids_limit = m->config->pids_limit,
		.host = &m->host,
	};
	OciSpecResult res = {0};
	if (!oci_spec_build(c->config, &ctx, &res, error))
		return FALSE;
	c->stop_signal = res.stop_signal;
	g_mutex_lock(&c->lock);
	c->has_user = TRUE;
	c->uid = res.user.uid;
	c->gid = res.user.gid;
	g_array_set_size(c->groups, 0);
	if (res.user.additional_gids != NULL)
		g_array_append_vals(c->groups, res.user.additional_gids->data,
				    res.user.additional_gids->len);
	g_mutex_unlock(&c->lock);
	char *text = json_dumps(res.spec, JSON_INDENT(1));
	oci_spec_result_clear(&res);
	g_autofree char *path = g_build_filename(c->dir, "config.json", NULL);
	gboolean ok = berth_replace_file(path, text, strlen(text), 0600, error);
	free(text);
	return ok;
}

static gboolean create_steps(CtrManager *m, Container *c, GError **error)
{
	typedef gboolean (*Step)(CtrManager *, Container *, GError **);
	static const struct {
		const char *what;
		Step fn;
	} steps[] = {
		{"rootfs", step_rootfs},
		{"OCI spec", step_spec},
		{"log directory", step_log_dir},
	};
	/* One record, CREATING, before any step: it names everything the
	 * steps make (the rootfs and spec under c->dir), and undoing is
	 * idempotent, so recovery needs no record of how far they got.
	 * The caller writes the next one, CREATED, after the last step. */
	if (!save(m, c, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
		gint64 t0 = g_get_monotonic_time();
		if (!steps[i].fn(m, c, error)) {
			g_prefix_error(error, "create container %s: %s: ",
				       c->full_name, steps[i].what);
			return FALSE;
		}
		log_debug("container %.12s: %s %.1f ms", c->id, steps[i].what,
			  (g_get_monotonic_time() - t0) / 1000.0);
	}
	return TRUE;
}

static void fail_create(CtrManager *m, Container *c, const GError *why)
{
	g_autoptr(GError) error = NULL;
	if (!undo_create(m, c, &error) || !delete_record(m, c, &error))
		log_error("container %s: undo after failed create: %s "
			  "(recovery will retry)",
			  c->id, error->message);
	g_mutex_lock(&c->lock);
	c->failure = g_strdup(why->message);
	g_mutex_unlock(&c->lock);
	index_forget(m->index, c);
	container_set_state(c, CTR_EXITED);
}

/* Same handling of kubelet's retry as for pods: the holder of the name
 * is returned when it is the same request, made but never answered. */
static Container *claim_retry(Container *c, Container *holder, gboolean *again,
			      GError **error)
{
	*again = FALSE;
	g_mutex_lock(&holder->lock);
	while (holder->state == CTR_CREATING)
		g_cond_wait(&holder->cond, &holder->lock);
	gboolean failed = holder->failure != NULL;
	gboolean same = strcmp(holder->config_hash, c->config_hash) == 0;
	gboolean unanswered = !holder->answered;
	gboolean live = holder->state != CTR_REMOVING;
	g_mutex_unlock(&holder->lock);
	if (failed) {
		*again = TRUE;
		return NULL;
	}
	if (live && same && unanswered)
		return container_ref(holder);
	return berth_throw_null(
		error, ALREADY_EXISTS,
		"container name %s is already used by container %s",
		c->full_name, holder->id);
}

Container *ctr_manager_create(CtrManager *m, const char *pod_id,
			      CtrConfig *config, const char *image,
			      const char *image_id, GError **error)
{
	g_autoptr(CtrConfig) cfg = config;
	g_autoptr(Pod) p =
		pod_store_lookup(pod_manager_store(m->pods), pod_id, error);
	if (p == NULL)
		return NULL;
	if (pod_get_state(p) != POD_READY) {
		return berth_throw_null(error, FAILED_PRECONDITION,
					"pod sandbox %s is not ready", p->id);
	}
	g_autoptr(ImageRecord) img = image_store_lookup(
		m->images, image_id ? image_id : image, NULL);
	if (img == NULL) {
		return berth_throw_null(
			error, NOT_FOUND,
			"image %s is not present: pull it first", image);
	}
	g_autofree char *id = berth_new_id();
	g_autoptr(Container) c =
		container_new(id, p->id, g_steal_pointer(&cfg));
	g_free(c->full_name);
	c->full_name = g_strdup_printf("%s_%s_%s_%s_%u", c->config->name,
				       p->config->name, p->config->namespace_,
				       p->config->uid, c->config->attempt);
	g_free(c->config_hash);
	c->config_hash = ctr_config_hash(c->config, image);
	g_free(c->image_name);
	c->image_name = g_strdup(image);
	g_free(c->image_id);
	c->image_id = g_strdup(img->id);
	g_free(c->runtime);
	c->runtime = g_strdup(p->runtime);
	g_free(c->dir);
	c->dir = g_build_filename(m->dir, id, NULL);
	g_free(c->socket_dir);
	c->socket_dir = g_build_filename(m->sock_root, id, NULL);
	g_free(c->log_path);
	c->log_path = p->config->log_directory[0] && c->config->log_path[0]
			      ? g_build_filename(p->config->log_directory,
						 c->config->log_path, NULL)
			      : g_strdup("");
	g_free(c->cgroup);
	c->cgroup =
		g_strdup_printf("%s/berth-%s", p->cgroup ? p->cgroup : "", id);
	c->created_at = g_get_real_time() * 1000;
	c->state = CTR_CREATING;
	for (;;) {
		gpointer holder = NULL;
		if (index_reserve(m->index, c, &holder))
			break;
		gboolean again = FALSE;
		Container *prev = claim_retry(c, holder, &again, error);
		container_unref(holder);
		if (!again)
			return prev;
	}
	g_mutex_lock(&c->op_lock);
	g_autoptr(GError) local = NULL;
	gboolean ok = create_steps(m, c, &local);
	if (ok) {
		container_set_state(c, CTR_CREATED);
		ok = save(m, c, &local);
	}
	if (!ok) {
		fail_create(m, c, local);
		g_mutex_unlock(&c->op_lock);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	g_mutex_unlock(&c->op_lock);
	publish(m, c, CTR_EVENT_CREATED);
	log_info("container %s (%s) created", c->id, c->full_name);
	return g_steal_pointer(&c);
}

void ctr_manager_mark_answered(CtrManager *m, Container *c, gboolean answered)
{
	if (!answered)
		return;
	g_mutex_lock(&c->lock);
	gboolean changed = !c->answered;
	c->answered = TRUE;
	g_mutex_unlock(&c->lock);
	if (changed)
		save_or_log(m, c);
}

/* When a process started, in ns since the epoch, from /proc (0 when it
 * cannot be told). */
static gint64 process_start_time(int pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
	g_autofree char *stat = NULL, *host = NULL;
	if (!g_file_get_contents(path, &stat, NULL, NULL) ||
	    !g_file_get_contents("/proc/stat", &host, NULL, NULL))
		return 0;
	/* Field 22, counted after the command's closing parenthesis. */
	const char *p = strrchr(stat, ')');
	unsigned long long ticks = 0;
	if (p == NULL || sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%*u %*u %*d %*d %*d %*d %*d %*d %llu",
				&ticks) != 1)
		return 0;
	const char *b = strstr(host, "\nbtime ");
	long hz = sysconf(_SC_CLK_TCK);
	if (b == NULL || hz <= 0)
		return 0;
	gint64 btime = g_ascii_strtoll(b + 7, NULL, 10);
	return (btime * G_USEC_PER_SEC + (gint64)ticks * G_USEC_PER_SEC / hz) *
	       1000;
}

/* The monitor of a container still runs (its pid file names a live
 * process). A reboot empties the runroot, and so the pid file. */
static gboolean monitor_alive(const char *socket_dir)
{
	int pid = 0;
	return conmon_monitor_pid(socket_dir, &pid, NULL) && pid > 0 &&
	       (kill(pid, 0) == 0 || errno == EPERM);
}

/* The pid the runtime wrote in the socket dir once it made the
 * container, when that process lives; else 0. */
static int runtime_pid_file(Container *c)
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

static void set_starting(Container *c, gboolean starting)
{
	g_mutex_lock(&c->lock);
	c->starting = starting;
	g_mutex_unlock(&c->lock);
}

/* RUNNING, saved, STARTED published. Callers that may race with the exit
 * event hold c->starting over this, and apply the exit after. */
static void set_running(CtrManager *m, Container *c, int pid, gint64 at)
{
	g_mutex_lock(&c->lock);
	gboolean changed = c->state == CTR_CREATED;
	if (changed) {
		c->state = CTR_RUNNING;
		c->pid = pid;
		c->started_at = MAX(at, c->created_at);
	}
	g_mutex_unlock(&c->lock);
	if (changed) {
		save_or_log(m, c);
		publish(m, c, CTR_EVENT_STARTED);
	}
}

/* The container an earlier berthd's start made, running as pid. */
static void take_earlier_start(CtrManager *m, Container *c, int pid)
{
	set_running(m, c, pid, process_start_time(pid));
	log_info("container %s was started by an earlier berthd", c->id);
}

/* What a start left behind (the runtime's container, the monitor's
 * sockets and files, an exit file): gone, and c is as created. The
 * monitor makes the socket dir before the runtime runs, so without one
 * there is nothing to undo. */
static void undo_start(CtrManager *m, Container *c)
{
	if (!g_file_test(c->socket_dir, G_FILE_TEST_EXISTS))
		return;
	g_autoptr(GError) error = NULL;
	if (!runtime_delete(m, c, &error))
		log_warn("container %s: undo its start: %s", c->id,
			 error->message);
	g_autofree char *exit_file = exit_path(m, c->id);
	unlink(exit_file);
	berth_rm_rf(c->socket_dir, NULL);
	g_mutex_lock(&c->lock);
	c->pid = 0;
	g_mutex_unlock(&c->lock);
}

typedef enum {
	ADOPT_NONE,    /* no start under way; c is as created */
	ADOPT_RUNNING, /* c now runs */
	ADOPT_FAILED,  /* error set */
} AdoptResult;

/* A created container with a live monitor was being started by an
 * earlier berthd (killed mid-StartContainer; the monitor lived on):
 * wait for that start to end and take its outcome. */
static AdoptResult adopt_start(CtrManager *m, Container *c, GError **error)
{
	if (!monitor_alive(c->socket_dir)) {
		undo_start(m, c);
		return ADOPT_NONE;
	}
	int pid = 0;
	g_autoptr(GError) local = NULL;
	set_starting(c, TRUE);
	if (!conmon_container_pid(c->socket_dir, ADOPT_WAIT_MS, &pid, &local)) {
		set_starting(c, FALSE);
		if (g_error_matches(local, BERTH_ERROR,
				    BERTH_ERROR_DEADLINE_EXCEEDED)) {
			g_propagate_prefixed_error(
				error, g_steal_pointer(&local),
				"container %s is being started by its "
				"monitor: ",
				c->id);
			return ADOPT_FAILED;
		}
		log_info("container %s: the start begun by an earlier berthd "
			 "failed (%s): starting anew",
			 c->id, local->message);
		undo_start(m, c);
		return ADOPT_NONE;
	}
	take_earlier_start(m, c, pid);
	set_starting(c, FALSE);
	apply_exit(m, c);
	return ADOPT_RUNNING;
}

/* The start failed: nothing of it is left, and the container is exited
 * with why, as kubelet expects (it makes a new one). */
static void start_failed(CtrManager *m, Container *c, const GError *why)
{
	undo_start(m, c);
	set_exited(m, c, START_ERROR_EXIT_CODE, "StartError", why->message);
}

static gboolean start_locked(CtrManager *m, Container *c, GError **error)
{
	CtrState s = container_get_state(c);
	if (s != CTR_CREATED)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is %s, not created", c->id,
				   s == CTR_RUNNING ? "already running"
						    : "exited");
	g_autoptr(Pod) p =
		pod_store_lookup(pod_manager_store(m->pods), c->pod_id, NULL);
	if (p == NULL || pod_get_state(p) != POD_READY)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s cannot start: its pod "
				   "sandbox %s is not ready",
				   c->id, c->pod_id);
	switch (adopt_start(m, c, error)) {
	case ADOPT_RUNNING:
		return TRUE;
	case ADOPT_FAILED:
		return FALSE;
	case ADOPT_NONE:
		break;
	}
	/* Taken before the process runs, so it never follows its exit. */
	gint64 started = g_get_real_time() * 1000;
	gint64 t0 = g_get_monotonic_time();
	set_starting(c, TRUE);
	g_autoptr(GError) local = NULL;
	int pid = 0;
	if (!start_monitor(m, c, &pid, &local)) {
		set_starting(c, FALSE);
		g_prefix_error(&local, "start container %s: ", c->id);
		start_failed(m, c, local);
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	log_debug("container %.12s: runtime run %.1f ms", c->id,
		  (g_get_monotonic_time() - t0) / 1000.0);
	set_running(m, c, pid, started);
	set_starting(c, FALSE);
	/* An exit that came while starting (a container that ends at once). */
	apply_exit(m, c);
	return TRUE;
}

gboolean ctr_manager_start(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(Container) c = index_lookup(m->index, id, error);
	if (c == NULL)
		return FALSE;
	g_mutex_lock(&c->op_lock);
	gboolean ok = start_locked(m, c, error);
	g_mutex_unlock(&c->op_lock);
	return ok;
}

/* Wait for the exit event until deadline (monotonic us). */
static gboolean wait_exit(Container *c, gint64 deadline)
{
	g_mutex_lock(&c->lock);
	while (c->state == CTR_RUNNING || c->state == CTR_CREATED) {
		if (!g_cond_wait_until(&c->cond, &c->lock, deadline))
			break;
	}
	gboolean done = c->state != CTR_RUNNING && c->state != CTR_CREATED;
	g_mutex_unlock(&c->lock);
	return done;
}

static gboolean stop_locked(CtrManager *m, Container *c, gint64 timeout_s,
			    GError **error)
{
	CtrState s = container_get_state(c);
	if (s == CTR_CREATED) {
		switch (adopt_start(m, c, error)) {
		case ADOPT_FAILED:
			return FALSE;
		case ADOPT_NONE:
			set_exited(m, c, NEVER_RAN_EXIT_CODE, "Error",
				   "stopped before it was started");
			return TRUE;
		case ADOPT_RUNNING:
			break;
		}
		s = container_get_state(c);
	}
	if (s != CTR_RUNNING)
		return TRUE;
	if (timeout_s > 0) {
		if (!signal_init(m, c, c->stop_signal, error))
			return FALSE;
		if (wait_exit(c, g_get_monotonic_time() +
					 timeout_s * G_USEC_PER_SEC))
			return TRUE;
	}
	if (!signal_init(m, c, SIGKILL, error))
		return FALSE;
	if (wait_exit(c, g_get_monotonic_time() + KILL_WAIT_S * G_USEC_PER_SEC))
		return TRUE;
	/* No exit event: is the monitor alive at all? */
	if (!apply_exit(m, c))
		mark_lost(m, c,
			  "the container did not exit after SIGKILL "
			  "and its monitor wrote no exit status");
	return TRUE;
}

gboolean ctr_manager_stop(CtrManager *m, const char *id, gint64 timeout_s,
			  GError **error)
{
	g_autoptr(Container) c = index_lookup(m->index, id, error);
	if (c == NULL)
		return FALSE;
	g_mutex_lock(&c->op_lock);
	gboolean ok = stop_locked(m, c, timeout_s, error);
	g_mutex_unlock(&c->op_lock);
	return ok;
}

static gboolean remove_locked(CtrManager *m, Container *c, GError **error)
{
	if (!stop_locked(m, c, 0, error))
		return FALSE;
	container_set_state(c, CTR_REMOVING);
	if (!save(m, c, error) || !undo_create(m, c, error) ||
	    !delete_record(m, c, error))
		return FALSE;
	index_forget(m->index, c);
	publish(m, c, CTR_EVENT_DELETED);
	return TRUE;
}

gboolean ctr_manager_remove(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(Container) c = index_lookup(m->index, id, &local);
	if (c == NULL) {
		if (g_error_matches(local, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	g_mutex_lock(&c->op_lock);
	gboolean ok = remove_locked(m, c, error);
	g_mutex_unlock(&c->op_lock);
	if (ok)
		log_info("container %s removed", c->id);
	return ok;
}

static gboolean for_pod(CtrManager *m, const char *pod_id, gboolean remove,
			GError **error)
{
	g_autoptr(GPtrArray) all = index_list(m->index, NULL);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		if (strcmp(c->pod_id, pod_id) != 0)
			continue;
		g_mutex_lock(&c->op_lock);
		gboolean ok = remove ? remove_locked(m, c, error)
				     : stop_locked(m, c, 0, error);
		g_mutex_unlock(&c->op_lock);
		if (!ok)
			return FALSE;
	}
	return TRUE;
}

gboolean ctr_manager_stop_pod(CtrManager *m, const char *pod_id, GError **error)
{
	return for_pod(m, pod_id, FALSE, error);
}

gboolean ctr_manager_remove_pod(CtrManager *m, const char *pod_id,
				GError **error)
{
	return for_pod(m, pod_id, TRUE, error);
}

gboolean ctr_manager_image_in_use(CtrManager *m, const char *image_id)
{
	g_autoptr(GPtrArray) all = index_list(m->index, NULL);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		if (strcmp(c->image_id, image_id) == 0)
			return TRUE;
	}
	return FALSE;
}

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
	json_t *spec = json_load_file(config, 0, &jerr);
	if (spec == NULL)
		return berth_throw(error, INTERNAL, "container %s: read %s: %s",
				   c->id, config, jerr.text);
	json_t *proc = json_object_get(spec, "process");
	if (!json_is_object(proc)) {
		json_decref(spec);
		return berth_throw(error, INTERNAL,
				   "container %s: %s has no process", c->id,
				   config);
	}
	json_object_set_new(proc, "args", berth_json_from_strv(cmd));
	json_object_set_new(proc, "terminal", json_false());
	json_object_del(proc, "consoleSize");
	int rc = json_dump_file(proc, path, JSON_COMPACT);
	json_decref(spec);
	if (rc < 0)
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
	g_autoptr(Container) c = index_lookup(m->index, id, error);
	if (c == NULL)
		return FALSE;
	if (container_get_state(c) != CTR_RUNNING)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is not running", c->id);
	const OciRuntime *rt = runtime_of(m, c, error);
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
	g_autoptr(Container) c = index_lookup(m->index, id, error);
	if (c == NULL)
		return FALSE;
	if (container_get_state(c) != CTR_RUNNING)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is not running: no log to "
				   "reopen",
				   c->id);
	return conmon_reopen_log(c->socket_dir, error);
}

/* --- recovery ------------------------------------------------------------ */

/* A container recorded as created: a start may have been under way when
 * berthd stopped. Its runtime pid file says the start went through; a
 * live monitor without one is still at it (a later start, stop or remove
 * waits for it); what a dead one left is undone (the one case that runs
 * the runtime here). */
static void recover_created(CtrManager *m, Container *c)
{
	g_autoptr(Pod) p =
		pod_store_lookup(pod_manager_store(m->pods), c->pod_id, NULL);
	gboolean alive = monitor_alive(c->socket_dir);
	int pid = runtime_pid_file(c);
	if (alive && pid > 0) {
		take_earlier_start(m, c, pid);
		return;
	}
	if (alive)
		return;
	if (pid > 0) {
		/* Started, and its monitor killed meanwhile: as when a
		 * running container loses its monitor. */
		kill_lost(m, c,
			  "its monitor is gone (killed while berthd "
			  "was down)");
		return;
	}
	undo_start(m, c);
	if (p == NULL || pod_get_state(p) != POD_READY)
		set_exited(m, c, NEVER_RAN_EXIT_CODE, "Error",
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
		if (!undo_create(m, c, &error) || !delete_record(m, c, &error))
			log_error("container %s: %s", c->id, error->message);
		return;
	case CTR_CREATED:
	case CTR_RUNNING:
		index_add(m->index, c);
		if (apply_exit(m, c))
			return; /* exited while berthd was down */
		if (c->state == CTR_CREATED)
			recover_created(m, c);
		else if (!monitor_alive(c->socket_dir))
			mark_lost(m, c,
				  "its monitor is gone (killed, or the "
				  "host rebooted)");
		return;
	case CTR_EXITED:
		index_add(m->index, c);
		return;
	}
}

gboolean ctr_manager_recover(CtrManager *m, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(m->dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (!berth_is_id(name))
			continue;
		g_autofree char *path =
			g_build_filename(m->dir, name, "container.json", NULL);
		g_autofree char *text = NULL;
		gsize len = 0;
		g_autoptr(GError) local = NULL;
		if (!berth_read_file(path, &text, &len, &local)) {
			g_autofree char *dir =
				g_build_filename(m->dir, name, NULL);
			log_warn("container %s has no record: removing", name);
			berth_rm_rf(dir, NULL);
			continue;
		}
		g_autoptr(Container) c = container_from_json(text, len, &local);
		if (c == NULL) {
			log_error("container record %s: %s", path,
				  local->message);
			continue;
		}
		recover_one(m, c);
	}
	log_info("recovered %u containers", index_count(m->index));
	m->watch = exit_watch_new(m->exit_dir, on_exit_file, m, error);
	if (m->watch == NULL)
		return FALSE;
	m->monitors = monwatch_new(on_monitor_gone, m, error);
	if (m->monitors == NULL)
		return FALSE;
	/* Exits that landed between the scan and the watch. */
	g_autoptr(GPtrArray) all = index_list(m->index, NULL);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		CtrState s = container_get_state(c);
		gboolean monitored =
			s == CTR_RUNNING ||
			(s == CTR_CREATED && monitor_alive(c->socket_dir));
		if (monitored && !apply_exit(m, c))
			watch_monitor(m, c);
	}
	return TRUE;
}
