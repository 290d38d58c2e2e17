/* Containers: create -> start -> (exit event) -> stop -> remove. Create
 * resolves its CDI devices first, then its steps: record (creating) ->
 * rootfs overlay -> image volumes -> OCI spec (+ CDI edits) -> log dir ->
 * record (created); no runtime runs. Start: the monitor has the runtime
 * create and start the container in one call (`run --detach`) -> record
 * (running). Undo runs the other way; every undo step is idempotent. */
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "image/manifest.h"
#include "sandbox/container/ctr-private.h"
#include "sandbox/pod/userns.h"
#include "sandbox/attempt.h"
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/container/ctrconfig-json.h"
#include "sandbox/spec/apparmor.h"
#include "sandbox/spec/spec.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"
#include "util/spawn.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* AppArmor is on: RuntimeDefault is berth-default, loaded (again, so an
 * upgrade's profile replaces the old one) at every start. Without it
 * containers run unconfined, as on a host without AppArmor: logged. */
static void load_apparmor_default(CtrManager *m)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir =
		g_build_filename(m->config->root, "apparmor", NULL);
	if (apparmor_load_default(dir, &err)) {
		m->apparmor_default = APPARMOR_DEFAULT_PROFILE;
		log_info("AppArmor: RuntimeDefault is %s",
			 APPARMOR_DEFAULT_PROFILE);
	} else {
		log_warn("AppArmor is enabled, but %s could not be loaded: "
			 "RuntimeDefault containers run unconfined: %s",
			 APPARMOR_DEFAULT_PROFILE, err->message);
	}
}

CtrManager *ctr_manager_new(const CtrManagerDeps *d, GError **error)
{
	g_autofree char *dir =
		g_build_filename(d->config->root, "containers", NULL);
	Store *store = ctr_store_new(dir, error);
	if (store == NULL)
		return NULL;
	CtrManager *m = g_new0(CtrManager, 1);
	m->store = store;
	m->config = d->config;
	m->pods = d->pods;
	m->images = d->images;
	m->runtimes = d->runtimes;
	m->events = d->events;
	m->cdi = d->cdi;
	m->conmon_path = g_strdup(d->conmon_path);
	m->dir = g_steal_pointer(&dir);
	m->sock_root = g_build_filename(d->config->runroot, "containers", NULL);
	m->exit_dir = g_build_filename(d->config->runroot, "exits", NULL);
	if (!oci_spec_host_probe(&m->host, error)) {
		ctr_manager_free(m);
		return NULL;
	}
	if (m->host.apparmor)
		load_apparmor_default(m);
	return m;
}

void ctr_manager_free(CtrManager *m)
{
	if (m == NULL)
		return;
	exit_watch_free(m->watch);
	monwatch_free(m->monitors);
	store_free(m->store);
	g_free(m->conmon_path);
	g_free(m->dir);
	g_free(m->sock_root);
	g_free(m->exit_dir);
	g_free(m);
}

Container *ctr_manager_lookup(CtrManager *m, const char *id, GError **error)
{
	return store_lookup(m->store, id, error);
}

GPtrArray *ctr_manager_list(CtrManager *m)
{
	return store_list(m->store);
}

/* --- records and events -------------------------------------------------- */

gboolean ctr_save(CtrManager *m, Container *c, GError **error)
{
	return store_save(m->store, c, error);
}

void ctr_save_or_log(CtrManager *m, Container *c)
{
	g_autoptr(GError) error = NULL;
	if (!ctr_save(m, c, &error))
		log_error("container %s: %s", c->id, error->message);
}

void ctr_publish(CtrManager *m, Container *c, CtrEventType type)
{
	CtrEvent *ev = g_new0(CtrEvent, 1);
	ev->type = type;
	ev->container_id = g_strdup(c->id);
	ev->pod_id = g_strdup(c->pod_id);
	ev->created_at = g_get_real_time() * 1000;
	event_bus_publish(m->events, ev);
}

/* --- runtime calls ------------------------------------------------------- */

const OciRuntime *ctr_runtime_of(CtrManager *m, Container *c, GError **error)
{
	const OciRuntime *rt = oci_runtimes_get(m->runtimes, c->runtime);
	if (rt == NULL)
		berth_throw(error, FAILED_PRECONDITION,
			    "runtime handler %s is no longer configured",
			    c->runtime);
	return rt;
}

/* Whether the runtime may still hold state of c. Only a monitor runs the
 * runtime for a container, and its socket dir is made before that and
 * removed only once the state is gone: with no dir (never started) there
 * is none. A monitor started with delete_on_exit deletes it itself once
 * the container exited and marks the dir; one still at that (the exit
 * file written, the monitor alive) is waited for, not raced. */
static gboolean runtime_state_left(CtrManager *m, Container *c,
				   const OciRuntime *rt)
{
	if (!g_file_test(c->socket_dir, G_FILE_TEST_IS_DIR))
		return FALSE;
	g_autofree char *deleted =
		g_build_filename(c->socket_dir, CONMON_DELETED_FILE, NULL);
	if (access(deleted, F_OK) == 0)
		return FALSE;
	g_autofree char *exit_file = ctr_exit_path(m, c->id);
	int pid = 0;
	if (access(exit_file, F_OK) == 0 &&
	    conmon_monitor_pid(c->socket_dir, &pid, NULL) && pid > 0 &&
	    spawn_wait_gone(pid, rt->timeout_ms))
		return access(deleted, F_OK) != 0;
	return TRUE;
}

gboolean ctr_runtime_delete(CtrManager *m, Container *c, GError **error)
{
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	if (!runtime_state_left(m, c, rt))
		return TRUE;
	const char *args[] = {"delete", "--force", c->id, NULL};
	g_autoptr(GError) local = NULL;
	if (oci_runtime_run_in(rt, cgroup_path_is_systemd(c->cgroup), NULL,
			       args, NULL, &local) ||
	    oci_runtime_gone(local))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/* Signal the container init: through its monitor, which holds it as an
 * unreaped child and so signals exactly it, at the cost of a message; or,
 * when no monitor answers (it died, or predates the kill command),
 * through `runtime kill`, a runtime process. */
gboolean ctr_signal_init(CtrManager *m, Container *c, int sig, GError **error)
{
	g_autoptr(GError) via = NULL;
	if (conmon_kill(c->socket_dir, sig, &via))
		return TRUE;
	log_debug("container %.12s: signal %d through the runtime: %s", c->id,
		  sig, via->message);
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	g_autofree char *s = g_strdup_printf("%d", sig);
	const char *args[] = {"kill", c->id, s, NULL};
	g_autoptr(GError) local = NULL;
	if (oci_runtime_run_in(rt, cgroup_path_is_systemd(c->cgroup), NULL,
			       args, NULL, &local))
		return TRUE;
	/* Already exited (or gone): the exit event settles it. */
	if (oci_runtime_gone(local) || strstr(local->message, "not running") ||
	    strstr(local->message, "process already finished"))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

/* --- create -------------------------------------------------------------- */

/* With the systemd driver each monitor gets a scope of its own
 * (berth-conmon-<id>.scope) in conmon_cgroup's slice, or in the pod's:
 * out of berth.service's cgroup, which a restart of berthd then finds
 * empty. A monitor that stays where it is still works: logged only. */
static void monitor_scope(CtrManager *m, Container *c)
{
	int pid = 0;
	g_autoptr(GError) err = NULL;
	g_autofree char *pod = g_path_get_dirname(c->cgroup);
	g_autofree char *slice = strcmp(m->config->conmon_cgroup, "pod") == 0
					 ? cgroup_path_slice(pod)
					 : g_strdup(m->config->conmon_cgroup);
	g_autofree char *name = g_strdup_printf("berth-conmon-%s.scope", c->id);
	g_autofree char *desc =
		g_strdup_printf("berth-conmon of container %s", c->full_name);
	if (!conmon_monitor_pid(c->socket_dir, &pid, &err) ||
	    !cgroup_systemd_scope_start(name, slice, pid, desc, &err))
		log_warn("container %.12s: monitor scope %s: %s", c->id, name,
			 err->message);
}

/* The monitor, which has the runtime create and start the container;
 * the container init's pid in *pid. */
static gboolean start_monitor(CtrManager *m, Container *c, int *pid,
			      GError **error)
{
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
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
		.delete_on_exit = TRUE,
		.timeout_ms = rt->timeout_ms,
		.runtime_args = oci_runtime_cgroup_args(
			cgroup_path_is_systemd(c->cgroup)),
	};
	if (!conmon_start(&o, pid, error))
		return FALSE;
	if (cgroup_path_is_systemd(c->cgroup))
		monitor_scope(m, c);
	ctr_watch_monitor(m, c);
	return TRUE;
}

static gboolean undo_volumes(CtrManager *m, Container *c, GError **error)
{
	return ctr_volumes_unmount(m, c, error);
}

static gboolean undo_rootfs(CtrManager *m, Container *c, GError **error)
{
	return image_rootfs_unmount(m->images, c->image_id, c->dir, error);
}

/* What a start left at run time: the exit file and the monitor's dir,
 * which stays while the runtime may hold state (runtime_state_left). */
static void undo_run_files(CtrManager *m, Container *c)
{
	g_autofree char *exit_file = ctr_exit_path(m, c->id);
	unlink(exit_file);
	berth_rm_rf(c->socket_dir, NULL);
}

typedef gboolean (*CtrStep)(CtrManager *m, Container *c, GError **error);

/* Everything of a container but its record, whatever state it is in. */
static const CtrStep undo_steps[] = {
	ctr_userns_unmount,
	undo_volumes,
	undo_rootfs,
};

gboolean ctr_undo_create(CtrManager *m, Container *c, GError **error)
{
	GError *first = NULL;
	gboolean deleted = ctr_runtime_delete(m, c, &first);
	for (gsize i = 0; i < G_N_ELEMENTS(undo_steps); i++) {
		GError *e = NULL;
		if (!undo_steps[i](m, c, &e))
			berth_keep_first_error(&first, e);
	}
	if (deleted)
		undo_run_files(m, c);
	return berth_raise_first_error(error, first);
}

/* The target of pid mode TARGET: a running container of the same pod. */
static int target_pid(CtrManager *m, Container *c, GError **error)
{
	const char *target = c->config->security.ns_target_id;
	g_autoptr(Container) t = store_lookup(m->store, target, error);
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

/* What CreateContainer's steps share: the pod and the image, looked up
 * once, the image's config, parsed once, and the image volumes' paths. */
typedef struct {
	Container *c;
	Pod *pod;
	ImageRecord *image;
	ImageConfig *image_config;
	GPtrArray *volumes; /* char*, per request mount; NULL: a host one */
	CdiEdits *cdi;	    /* the CDI devices' edits, resolved up front */
} CtrCreate;

static gboolean step_volumes(CtrManager *m, CtrCreate *cc, GError **error)
{
	cc->volumes = ctr_volumes_mount(m, cc->c, error);
	return cc->volumes != NULL;
}

static gboolean step_rootfs(CtrManager *m, CtrCreate *cc, GError **error)
{
	g_autofree char *rootfs = NULL;
	const char *userns = cc->pod->userns;
	if (userns == NULL)
		return image_rootfs_mount(m->images, cc->image->id, cc->c->dir,
					  -1, &rootfs, error);
	if (!ctr_userns_prepare_dir(cc->c, error))
		return FALSE;
	autofd fd = userns_open(userns, error);
	return fd >= 0 && image_rootfs_mount(m->images, cc->image->id,
					     cc->c->dir, fd, &rootfs, error);
}

static gboolean step_log_dir(CtrManager *m, CtrCreate *cc, GError **error)
{
	(void)m;
	Container *c = cc->c;
	if (c->log_path[0] == '\0')
		return TRUE;
	g_autofree char *dir = g_path_get_dirname(c->log_path);
	return berth_mkdir_p(dir, 0755, error);
}

/* The container's /dev/termination-log (its own file in its dir). */
static char *termination_log(Container *c, GError **error)
{
	char *term = g_build_filename(c->dir, "termination-log", NULL);
	if (!g_file_set_contents(term, "", 0, error)) {
		g_free(term);
		return NULL;
	}
	return term;
}

/* What the OCI spec build found out that the container keeps. */
static void keep_spec_result(Container *c, const OciSpecResult *res)
{
	g_mutex_lock(&c->lock);
	c->stop_signal = res->stop_signal;
	c->has_user = TRUE;
	c->uid = res->user.uid;
	c->gid = res->user.gid;
	g_array_set_size(c->groups, 0);
	if (res->user.additional_gids != NULL)
		g_array_append_vals(c->groups, res->user.additional_gids->data,
				    res->user.additional_gids->len);
	g_mutex_unlock(&c->lock);
}

/* The OCI config.json for c in its pod, written into the bundle. */
static gboolean step_spec(CtrManager *m, CtrCreate *cc, GError **error)
{
	Container *c = cc->c;
	Pod *p = cc->pod;
	int tpid = 0;
	if (c->config->security.ns_pid == POD_NS_TARGET &&
	    (tpid = target_pid(m, c, error)) < 0)
		return FALSE;
	g_autofree char *pod_dir =
		store_dir_of(pod_manager_store(m->pods), p->id);
	g_autofree char *resolv =
		g_build_filename(pod_dir, "resolv.conf", NULL);
	g_autofree char *hosts = g_build_filename(pod_dir, "hosts", NULL);
	g_autofree char *hostname = g_build_filename(pod_dir, "hostname", NULL);
	g_autofree char *shm = pod_manager_shm_path(m->pods, p);
	g_autofree char *rootfs = g_build_filename(c->dir, "rootfs", NULL);
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	g_autofree char *term = termination_log(c, error);
	if (term == NULL)
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
		.image = cc->image_config,
		.image_volumes = cc->volumes,
		.resolv_conf = resolv,
		.hosts = hosts,
		.hostname_file = hostname,
		.shm_path = shm,
		.termination_log = term,
		.default_capabilities =
			(const char *const *)m->config->default_capabilities,
		.pids_limit = m->config->pids_limit,
		.host = &m->host,
		.runtime = rt->name,
		.rro_mounts = rt->rro,
		.apparmor_default = m->apparmor_default,
		.userns = p->userns,
		.userns_map = &p->config->userns_map,
	};
	g_auto(OciSpecResult) res = {0};
	if (!oci_spec_build(c->config, &ctx, &res, error) ||
	    (cc->cdi != NULL && !cdi_apply(cc->cdi, res.spec, error)) ||
	    (p->userns != NULL &&
	     !ctr_userns_idmap_binds(c, p, res.spec, shm, error)))
		return FALSE;
	keep_spec_result(c, &res);
	g_autofree char *text = json_dumps(res.spec, JSON_INDENT(1));
	g_autofree char *path = g_build_filename(c->dir, "config.json", NULL);
	return berth_replace_file(path, text, strlen(text), 0600, error);
}

typedef gboolean (*CreateStep)(CtrManager *m, CtrCreate *cc, GError **error);

static gboolean create_steps(CtrManager *m, CtrCreate *cc, GError **error)
{
	static const struct {
		const char *what;
		CreateStep fn;
	} steps[] = {
		{"rootfs", step_rootfs},
		{"image volumes", step_volumes},
		{"OCI spec", step_spec},
		{"log directory", step_log_dir},
	};
	Container *c = cc->c;
	/* One record, CREATING, before any step: it names everything the
	 * steps make (the rootfs and spec under c->dir), and undoing is
	 * idempotent, so recovery needs no record of how far they got.
	 * The caller writes the next one, CREATED, after the last step. */
	if (!ctr_save(m, c, error))
		return FALSE;
	for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
		gint64 t0 = g_get_monotonic_time();
		if (!steps[i].fn(m, cc, error)) {
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
	if (!ctr_undo_create(m, c, &error) ||
	    !store_delete(m->store, c->id, &error))
		log_error("container %s: undo after failed create: %s "
			  "(recovery will retry)",
			  c->id, error->message);
	g_mutex_lock(&c->lock);
	c->failure = g_strdup(why->message);
	g_mutex_unlock(&c->lock);
	store_forget(m->store, c);
	container_set_state(c, CTR_EXITED);
}

/* The name is taken by holder: wait while it is being made, then decide
 * as for pods (sandbox/attempt.h). */
static AttemptVerdict claim_retry(gpointer obj, gpointer h_obj)
{
	Container *c = obj, *holder = h_obj;
	g_mutex_lock(&holder->lock);
	while (holder->state == CTR_CREATING)
		g_cond_wait(&holder->cond, &holder->lock);
	AttemptHolder h = {
		.failed = holder->failure != NULL,
		.live = holder->state != CTR_REMOVING,
		.same = strcmp(holder->config_hash, c->config_hash) == 0,
		.answered = holder->answered,
	};
	g_mutex_unlock(&holder->lock);
	return attempt_verdict(&h);
}

/* The CDI devices the request and its cdi.k8s.io/ annotations name,
 * resolved before anything is made: an unknown device or a broken spec
 * fails the create with the module's message (device and file). *out
 * stays NULL when none is asked for. */
static gboolean ctr_resolve_cdi(CtrManager *m, const CtrConfig *cfg,
				CdiEdits **out, GError **error)
{
	g_auto(GStrv) names = cdi_device_names(
		(const char *const *)cfg->cdi_devices, cfg->annotations, error);
	if (names == NULL)
		return FALSE;
	if (names[0] == NULL)
		return TRUE;
	if (m->cdi == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CDI device %s asked for, but berthd has no "
				   "CDI registry",
				   names[0]);
	return cdi_resolve(m->cdi, (const char *const *)names, out, error);
}

/* A new container of pod p, not yet reserved or made. */
static Container *container_for(CtrManager *m, Pod *p, CtrConfig *config,
				const char *image, const ImageRecord *img)
{
	g_autofree char *id = berth_new_id();
	Container *c = container_new(id, p->id, config);
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
	c->dir = store_dir_of(m->store, id);
	g_free(c->socket_dir);
	c->socket_dir = g_build_filename(m->sock_root, id, NULL);
	g_free(c->log_path);
	c->log_path = p->config->log_directory[0] && c->config->log_path[0]
			      ? g_build_filename(p->config->log_directory,
						 c->config->log_path, NULL)
			      : g_strdup("");
	g_free(c->cgroup);
	c->cgroup = cgroup_container_path(p->cgroup ? p->cgroup : "", id);
	c->created_at = g_get_real_time() * 1000;
	c->state = CTR_CREATING;
	return c;
}

/* Run the steps on a reserved container; it is CREATED after, or gone
 * (undone, its name free) with error set. */
static gboolean make(CtrManager *m, CtrCreate *cc, GError **error)
{
	Container *c = cc->c;
	g_mutex_lock(&c->op_lock);
	g_autoptr(GError) local = NULL;
	gboolean ok = create_steps(m, cc, &local);
	if (ok) {
		container_set_state(c, CTR_CREATED);
		ok = ctr_save(m, c, &local);
	}
	if (!ok)
		fail_create(m, c, local);
	g_mutex_unlock(&c->op_lock);
	if (!ok)
		g_propagate_error(error, g_steal_pointer(&local));
	return ok;
}

Container *ctr_manager_create(CtrManager *m, const char *pod_id,
			      CtrConfig *config, const char *image,
			      ImageRecord *img, GError **error)
{
	g_autoptr(CtrConfig) cfg = config;
	g_autoptr(Pod) p =
		store_lookup(pod_manager_store(m->pods), pod_id, error);
	if (p == NULL)
		return NULL;
	if (pod_get_state(p) != POD_READY)
		return berth_throw_null(error, FAILED_PRECONDITION,
					"pod sandbox %s is not ready", p->id);
	if (!ctr_userns_check(cfg, p, error))
		return NULL;
	if (img == NULL)
		return berth_throw_null(
			error, NOT_FOUND,
			"image %s is not present: pull it first", image);
	g_autoptr(ImageConfig) icfg = NULL;
	if (img->config_json != NULL &&
	    !image_config_parse(img->config_json, strlen(img->config_json),
				&icfg, error))
		return NULL;
	g_autoptr(CdiEdits) cdi = NULL;
	if (!ctr_resolve_cdi(m, cfg, &cdi, error))
		return NULL;
	g_autoptr(Container) c =
		container_for(m, p, g_steal_pointer(&cfg), image, img);
	Container *first = NULL;
	if (!store_reserve_attempt(m->store, c, claim_retry, (gpointer *)&first,
				   error))
		return NULL;
	if (first != NULL)
		return first;
	CtrCreate cc = {.c = c,
			.pod = p,
			.image = img,
			.image_config = icfg,
			.cdi = cdi};
	gboolean made = make(m, &cc, error);
	if (cc.volumes != NULL)
		g_ptr_array_unref(cc.volumes);
	if (!made)
		return NULL;
	ctr_publish(m, c, CTR_EVENT_CREATED);
	log_info("container %s (%s) created", c->id, c->full_name);
	return g_steal_pointer(&c);
}

void ctr_manager_mark_answered(CtrManager *m, Container *c, gboolean answered)
{
	if (attempt_mark_answered(&c->lock, &c->answered, answered))
		ctr_save_or_log(m, c);
}

static void set_starting(Container *c, gboolean starting)
{
	g_mutex_lock(&c->lock);
	c->starting = starting;
	g_mutex_unlock(&c->lock);
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
		ctr_save_or_log(m, c);
		ctr_publish(m, c, CTR_EVENT_STARTED);
	}
}

/* The container an earlier berthd's start made, running as pid. */
void ctr_take_earlier_start(CtrManager *m, Container *c, int pid)
{
	set_running(m, c, pid, process_start_time(pid));
	log_info("container %s was started by an earlier berthd", c->id);
}

/* What a start left behind (the runtime's container, the monitor's
 * sockets and files, an exit file): gone, and c is as created. The
 * monitor makes the socket dir before the runtime runs, so without one
 * there is nothing to undo. */
void ctr_undo_start(CtrManager *m, Container *c)
{
	if (!g_file_test(c->socket_dir, G_FILE_TEST_EXISTS))
		return;
	g_autoptr(GError) error = NULL;
	if (ctr_runtime_delete(m, c, &error))
		undo_run_files(m, c);
	else
		log_warn("container %s: undo its start: %s", c->id,
			 error->message);
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
	if (!ctr_monitor_alive(c->socket_dir)) {
		ctr_undo_start(m, c);
		return ADOPT_NONE;
	}
	const OciRuntime *rt = oci_runtimes_get(m->runtimes, c->runtime);
	guint wait_ms =
		(rt ? rt->timeout_ms : CONMON_DEFAULT_TIMEOUT_S * 1000u) +
		ADOPT_GRACE_MS;
	int pid = 0;
	g_autoptr(GError) local = NULL;
	set_starting(c, TRUE);
	if (!conmon_container_pid(c->socket_dir, wait_ms, &pid, &local)) {
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
		ctr_undo_start(m, c);
		return ADOPT_NONE;
	}
	ctr_take_earlier_start(m, c, pid);
	set_starting(c, FALSE);
	ctr_apply_exit(m, c);
	return ADOPT_RUNNING;
}

/* The start failed: nothing of it is left, and the container is exited
 * with why, as kubelet expects (it makes a new one). */
static void start_failed(CtrManager *m, Container *c, const GError *why)
{
	ctr_undo_start(m, c);
	ctr_set_exited(m, c, START_ERROR_EXIT_CODE, "StartError", why->message);
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
		store_lookup(pod_manager_store(m->pods), c->pod_id, NULL);
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
	ctr_apply_exit(m, c);
	return TRUE;
}

gboolean ctr_manager_start(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(Container) c = store_lookup(m->store, id, error);
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
			ctr_set_exited(m, c, NEVER_RAN_EXIT_CODE, "Error",
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
		if (!ctr_signal_init(m, c, c->stop_signal, error))
			return FALSE;
		if (wait_exit(c, g_get_monotonic_time() +
					 timeout_s * G_USEC_PER_SEC))
			return TRUE;
	}
	if (!ctr_signal_init(m, c, SIGKILL, error))
		return FALSE;
	if (wait_exit(c, g_get_monotonic_time() + KILL_WAIT_S * G_USEC_PER_SEC))
		return TRUE;
	/* No exit event: is the monitor alive at all? */
	if (!ctr_apply_exit(m, c))
		ctr_mark_lost(m, c,
			      "the container did not exit after SIGKILL "
			      "and its monitor wrote no exit status");
	return TRUE;
}

gboolean ctr_manager_stop(CtrManager *m, const char *id, gint64 timeout_s,
			  GError **error)
{
	/* An id never known or already removed: OK, as for remove. */
	g_autoptr(Container) c = NULL;
	if (!store_lookup_idempotent(m->store, id, (gpointer *)&c, error))
		return FALSE;
	if (c == NULL)
		return TRUE;
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
	if (!store_save_unless_full(m->store, c, error) ||
	    !ctr_undo_create(m, c, error) ||
	    !store_delete(m->store, c->id, error))
		return FALSE;
	store_forget(m->store, c);
	ctr_publish(m, c, CTR_EVENT_DELETED);
	return TRUE;
}

gboolean ctr_manager_remove(CtrManager *m, const char *id, GError **error)
{
	g_autoptr(Container) c = NULL;
	if (!store_lookup_idempotent(m->store, id, (gpointer *)&c, error))
		return FALSE;
	if (c == NULL)
		return TRUE;
	g_mutex_lock(&c->op_lock);
	gboolean ok = remove_locked(m, c, error);
	g_mutex_unlock(&c->op_lock);
	if (ok)
		log_info("container %s removed", c->id);
	return ok;
}

static gboolean of_pod(const Container *c, const char *pod_id)
{
	return strcmp(c->pod_id, pod_id) == 0;
}

static gboolean listed_in_pod(gpointer c, gconstpointer pod_id)
{
	return of_pod(c, pod_id) && container_get_state(c) != CTR_REMOVING;
}

/* Only the pod's containers are referenced and sorted: PodSandboxStatus
 * calls this for every pod kubelet looks at. */
GPtrArray *ctr_manager_list_pod(CtrManager *m, const char *pod_id)
{
	return store_list_where(m->store, listed_in_pod, pod_id);
}

static gboolean for_pod(CtrManager *m, const char *pod_id, gboolean remove,
			GError **error)
{
	g_autoptr(GPtrArray) all = store_list(m->store);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		if (!of_pod(c, pod_id))
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
	g_autoptr(GPtrArray) all = store_list(m->store);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		if (strcmp(c->image_id, image_id) == 0 ||
		    ctr_volumes_use_image(c, image_id))
			return TRUE;
	}
	return FALSE;
}

PodManager *ctr_manager_pods(CtrManager *m)
{
	return m->pods;
}
