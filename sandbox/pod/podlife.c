/* RunPodSandbox / StopPodSandbox / RemovePodSandbox and recovery. The
 * order of run: record (creating) -> namespaces -> DNS files -> cgroup ->
 * CNI ADD -> infra -> record (ready). Undo runs the other way. Every undo
 * step is idempotent, so recovery can run them all whatever was done. */
#include "sandbox/pod/podlife.h"
#include "sandbox/attempt.h"
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/pod/dns.h"
#include "sandbox/pod/infra.h"
#include "sandbox/pod/netns.h"
#include "sandbox/pod/shm.h"
#include "sandbox/pod/sysctl.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

struct PodManager {
	const BerthConfig *config;
	CniManager *cni;
	OciRuntimes *runtimes;
	Store *store;
	char *ns_root;	    /* <runroot>/ns */
	char *infra_root;   /* <runroot>/infra */
	char *pause_rootfs; /* <root>/pause-rootfs: not under /run, nodev there
			     */
	char *shm_root;	    /* <runroot>/shm */
	char *pause_path;
	PodContainerHooks hooks;
};

void pod_manager_set_container_hooks(PodManager *m,
				     const PodContainerHooks *hooks)
{
	m->hooks = *hooks;
}

PodManager *pod_manager_new(const PodManagerDeps *d, GError **error)
{
	g_autofree char *pods = g_build_filename(d->config->root, "pods", NULL);
	Store *store = pod_store_new(pods, error);
	if (store == NULL)
		return NULL;
	PodManager *m = g_new0(PodManager, 1);
	m->config = d->config;
	m->cni = d->cni;
	m->runtimes = d->runtimes;
	m->store = store;
	m->ns_root = g_build_filename(d->config->runroot, "ns", NULL);
	m->infra_root = g_build_filename(d->config->runroot, "infra", NULL);
	m->pause_rootfs =
		g_build_filename(d->config->root, "pause-rootfs", NULL);
	m->shm_root = g_build_filename(d->config->runroot, "shm", NULL);
	m->pause_path = g_strdup(d->pause_path);
	return m;
}

void pod_manager_free(PodManager *m)
{
	if (m == NULL)
		return;
	store_free(m->store);
	g_free(m->ns_root);
	g_free(m->infra_root);
	g_free(m->pause_rootfs);
	g_free(m->shm_root);
	g_free(m->pause_path);
	g_free(m);
}

Store *pod_manager_store(PodManager *m)
{
	return m->store;
}

/* --- validation ---------------------------------------------------------- */

static const OciRuntime *runtime_for(PodManager *m, const char *handler,
				     GError **error)
{
	const OciRuntime *rt = handler[0] == '\0'
				       ? m->runtimes->default_runtime
				       : oci_runtimes_get(m->runtimes, handler);
	if (rt == NULL && handler[0] != '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"unknown runtime handler \"%s\"",
					handler);
	}
	if (rt == NULL || !rt->works) {
		return berth_throw_null(
			error, FAILED_PRECONDITION,
			"runtime handler \"%s\" cannot run containers "
			"here: %s",
			rt ? rt->name : handler,
			rt ? rt->problem : m->runtimes->default_why);
	}
	return rt;
}

/* A DNS label-ish hostname: what sethostname and resolvers accept. */
static gboolean valid_hostname(const char *h)
{
	gsize n = strlen(h);
	if (n == 0 || n > 64)
		return FALSE;
	for (const char *p = h; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.' && *p != '_')
			return FALSE;
	}
	return TRUE;
}

static gboolean systemd_driver(PodManager *m)
{
	return strcmp(m->config->cgroup_manager, "systemd") == 0;
}

static gboolean ranges_overlap(const UsernsRange *a, const UsernsRange *b)
{
	return (guint64)a->host_id < (guint64)b->host_id + b->length &&
	       (guint64)b->host_id < (guint64)a->host_id + a->length;
}

/* Another pod (not an earlier attempt of the same one: kubelet keeps a
 * pod's range across attempts) whose host ids overlap c's. */
static gboolean userns_taken(gpointer obj, gconstpointer data)
{
	const Pod *o = obj;
	const PodConfig *c = data;
	return o->config->userns && strcmp(o->config->uid, c->uid) != 0 &&
	       (ranges_overlap(&o->config->userns_map.uid,
			       &c->userns_map.uid) ||
		ranges_overlap(&o->config->userns_map.gid, &c->userns_map.gid));
}

static gboolean validate_userns(PodManager *m, const PodConfig *c,
				GError **error)
{
	if (!c->userns)
		return TRUE;
	if (c->ns_network == POD_NS_NODE || c->ns_pid == POD_NS_NODE ||
	    c->ns_ipc == POD_NS_NODE)
		return berth_throw(error, INVALID_ARGUMENT,
				   USERNS_FIELD
				   ": mode POD cannot be used with "
				   "the host's network, PID or "
				   "IPC namespace");
	if (!userns_range_check(&c->userns_map.uid, USERNS_FIELD ".uids",
				error) ||
	    !userns_range_check(&c->userns_map.gid, USERNS_FIELD ".gids",
				error))
		return FALSE;
	g_autoptr(GPtrArray) taken =
		store_list_where(m->store, userns_taken, c);
	if (taken->len > 0) {
		const Pod *o = g_ptr_array_index(taken, 0);
		return berth_throw(error, INVALID_ARGUMENT,
				   USERNS_FIELD ": the host ids overlap those "
						"of pod %s (%s)",
				   o->id, o->full_name);
	}
	return TRUE;
}

gboolean pod_manager_validate(PodManager *m, const PodConfig *c, GError **error)
{
	if (c->ns_network == POD_NS_TARGET || c->ns_ipc == POD_NS_TARGET ||
	    c->ns_network == POD_NS_CONTAINER || c->ns_ipc == POD_NS_CONTAINER)
		return berth_throw(error, INVALID_ARGUMENT,
				   "network and ipc namespaces of a pod must "
				   "be POD or NODE");
	if (c->ns_pid == POD_NS_TARGET)
		return berth_throw(error, INVALID_ARGUMENT,
				   "pid namespace mode TARGET is only valid "
				   "for a container");
	if (c->hostname[0] != '\0' && !valid_hostname(c->hostname))
		return berth_throw(error, INVALID_ARGUMENT,
				   "hostname \"%s\" is not a valid host name",
				   c->hostname);
	if (c->log_directory[0] != '\0' && c->log_directory[0] != '/')
		return berth_throw(error, INVALID_ARGUMENT,
				   "log_directory \"%s\" must be absolute",
				   c->log_directory);
	for (char **srv = c->dns_servers; *srv; srv++) {
		if (!pod_dns_is_ip(*srv))
			return berth_throw(error, INVALID_ARGUMENT,
					   "dns_config.servers: \"%s\" is not "
					   "an IP address",
					   *srv);
	}
	for (guint i = 0; i < c->sysctls->len; i++) {
		const KeyValue *kv = g_ptr_array_index(c->sysctls, i);
		if (!pod_sysctl_check(kv->key, kv->value,
				      c->ns_network == POD_NS_NODE,
				      c->ns_ipc == POD_NS_NODE, error))
			return FALSE;
	}
	for (guint i = 0; i < c->ports->len; i++) {
		const PodPort *p = g_ptr_array_index(c->ports, i);
		if (p->container_port <= 0 || p->container_port > 65535 ||
		    p->host_port < 0 || p->host_port > 65535)
			return berth_throw(error, INVALID_ARGUMENT,
					   "port mapping %d -> %d is out of "
					   "range",
					   p->host_port, p->container_port);
	}
	if (systemd_driver(m) && !m->config->systemd_is_pid1)
		return berth_throw(error, FAILED_PRECONDITION,
				   "cgroup_manager is systemd but systemd is "
				   "not running on this host; use cgroupfs");
	if (!validate_userns(m, c, error))
		return FALSE;
	const OciRuntime *rt = runtime_for(m, c->runtime_handler, error);
	if (rt == NULL)
		return FALSE;
	if (c->userns && !rt->userns)
		return berth_throw(error, FAILED_PRECONDITION,
				   "runtime handler \"%s\" cannot run pods "
				   "with a user namespace here (Status says "
				   "so): %s",
				   rt->name,
				   rt->userns_problem ? rt->userns_problem
						      : "not probed");
	return TRUE;
}

/* --- the steps ----------------------------------------------------------- */

static char *pod_file(PodManager *m, const char *id, const char *name)
{
	g_autofree char *dir = store_dir_of(m->store, id);
	return g_build_filename(dir, name, NULL);
}

static char **sysctl_strv(const PodConfig *c)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	for (guint i = 0; i < c->sysctls->len; i++) {
		const KeyValue *kv = g_ptr_array_index(c->sysctls, i);
		g_autofree char *line =
			g_strdup_printf("%s=%s", kv->key, kv->value);
		g_strv_builder_add(b, line);
	}
	return g_strv_builder_end(b);
}

/* A pod without a hostname gets the node's, as CRI-O and containerd give
 * it: the pod name may be longer than a hostname can be (critest's are). */
static const char *pod_hostname(const Pod *p)
{
	return p->config->hostname[0] ? p->config->hostname : g_get_host_name();
}

static gboolean step_namespaces(PodManager *m, Pod *p, GError **error)
{
	const PodConfig *c = p->config;
	g_auto(GStrv) sysctls = sysctl_strv(c);
	g_autofree char *dir = g_build_filename(m->ns_root, p->id, NULL);
	PodNsSpec spec = {
		.new_net = c->ns_network != POD_NS_NODE,
		.new_ipc = c->ns_ipc != POD_NS_NODE,
		.new_uts = c->ns_network != POD_NS_NODE,
		.hostname = pod_hostname(p),
		.sysctls = (const char *const *)sysctls,
		.pin_dir = dir,
		.userns = c->userns ? &c->userns_map : NULL,
	};
	PodNs ns = {0};
	if (!pod_ns_create(&spec, &ns, error))
		return FALSE;
	g_mutex_lock(&p->lock);
	p->ns_dir = g_steal_pointer(&dir);
	p->netns = g_steal_pointer(&ns.net);
	p->ipcns = g_steal_pointer(&ns.ipc);
	p->utsns = g_steal_pointer(&ns.uts);
	p->userns = g_steal_pointer(&ns.user);
	g_mutex_unlock(&p->lock);
	pod_ns_clear(&ns);
	return TRUE;
}

char *pod_manager_shm_path(PodManager *m, const Pod *p)
{
	if (p->config->ns_ipc == POD_NS_NODE)
		return NULL;
	return g_build_filename(m->shm_root, p->id, NULL);
}

/* In a pod with its own user namespace, /dev/shm belongs to the pod's
 * root (a tmpfs cannot be idmapped before Linux 6.3). */
static gboolean step_shm(PodManager *m, Pod *p, GError **error)
{
	g_autofree char *dir = pod_manager_shm_path(m, p);
	const UsernsMap *u = p->config->userns ? &p->config->userns_map : NULL;
	gint64 uid = u ? userns_range_host(&u->uid, 0) : -1;
	gint64 gid = u ? userns_range_host(&u->gid, 0) : -1;
	return dir == NULL || pod_shm_mount(dir, uid, gid, error);
}

static gboolean undo_shm(PodManager *m, Pod *p, GError **error)
{
	g_autofree char *dir = pod_manager_shm_path(m, p);
	return dir == NULL || pod_shm_unmount(dir, error);
}

static gboolean step_dns_files(PodManager *m, Pod *p, GError **error)
{
	const PodConfig *c = p->config;
	g_autofree char *resolv = pod_file(m, p->id, "resolv.conf");
	g_autofree char *hostname = pod_file(m, p->id, "hostname");
	return pod_dns_write_resolv_conf(
		       resolv, (const char *const *)c->dns_servers,
		       (const char *const *)c->dns_searches,
		       (const char *const *)c->dns_options, error) &&
	       pod_dns_write_hostname(hostname, pod_hostname(p), error);
}

static const char *cgroup_parent(PodManager *m, Pod *p)
{
	return p->config->cgroup_parent[0] ? p->config->cgroup_parent
					   : m->config->default_cgroup_parent;
}

/* A pod slice berth started says so in its Description: only those are
 * stopped again (kubelet's are kubelet's). */
#define POD_SLICE_DESCRIPTION "pod slice made by berth"

/* The path goes into the first record, before anything is made: undoing
 * the cgroup step needs only it, and removing a cgroup that was never
 * made is a no-op. With the systemd driver it is the pod slice's path
 * (and so its name). */
static gboolean plan_cgroup(PodManager *m, Pod *p, GError **error)
{
	char *rel = NULL;
	if (systemd_driver(m)) {
		g_autofree char *slice = cgroup_pod_slice(
			p->config->cgroup_parent,
			m->config->default_cgroup_parent, p->id, error);
		rel = slice ? cgroup_slice_path(slice) : NULL;
	} else {
		rel = cgroup_pod_relative(cgroup_parent(m, p), p->id, error);
	}
	if (rel == NULL)
		return FALSE;
	g_mutex_lock(&p->lock);
	p->cgroup = rel;
	g_mutex_unlock(&p->lock);
	return TRUE;
}

static gboolean step_cgroup(PodManager *m, Pod *p, GError **error)
{
	if (cgroup_path_is_systemd(p->cgroup)) {
		g_autofree char *slice = cgroup_path_slice(p->cgroup);
		return cgroup_systemd_slice_start(slice, POD_SLICE_DESCRIPTION,
						  error);
	}
	g_autoptr(CgroupPath) cg =
		cgroup_pod_create(cgroup_parent(m, p), p->id, error);
	return cg != NULL;
}

/* kubernetes.io/{ingress,egress}-bandwidth: "10M", "1G", "500k", plain
 * bits per second. 0 when absent; FALSE when malformed. */
static gboolean bandwidth_annotation(const PodConfig *c, const char *key,
				     gint64 *out, GError **error)
{
	*out = 0;
	const char *v = kv_list_get(c->annotations, key);
	if (v == NULL)
		return TRUE;
	char *end = NULL;
	double n = g_ascii_strtod(v, &end);
	double mult = 1;
	if (end && *end) {
		const char *units[] = {"k",  "M",  "G",	 "T",
				       "Ki", "Mi", "Gi", "Ti"};
		const double mults[] = {
			1e3,	1e6,	   1e9,		 1e12,
			1024.0, 1048576.0, 1073741824.0, 1099511627776.0};
		mult = 0;
		for (gsize i = 0; i < G_N_ELEMENTS(units); i++) {
			if (strcmp(end, units[i]) == 0)
				mult = mults[i];
		}
	}
	if (end == v || mult == 0 || n <= 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "annotation %s: \"%s\" is not a bandwidth "
				   "like 10M",
				   key, v);
	*out = (gint64)(n * mult);
	return TRUE;
}

static gboolean cni_args(Pod *p, CniPodArgs *a, GArray *ports, GError **error)
{
	const PodConfig *c = p->config;
	memset(a, 0, sizeof *a);
	a->sandbox_id = p->id;
	a->pod_name = c->name;
	a->pod_namespace = c->namespace_;
	a->pod_uid = c->uid;
	a->netns_path = p->netns;
	for (guint i = 0; i < c->ports->len; i++) {
		const PodPort *pp = g_ptr_array_index(c->ports, i);
		if (pp->host_port == 0)
			continue; /* 0 means no host port */
		CniPortMapping pm = {.host_port = pp->host_port,
				     .container_port = pp->container_port,
				     .protocol = pp->protocol,
				     .host_ip = pp->host_ip};
		g_array_append_val(ports, pm);
	}
	a->ports = (const CniPortMapping *)ports->data;
	a->n_ports = ports->len;
	return bandwidth_annotation(c, "kubernetes.io/ingress-bandwidth",
				    &a->ingress_bps, error) &&
	       bandwidth_annotation(c, "kubernetes.io/egress-bandwidth",
				    &a->egress_bps, error);
}

static const char *host_veth(const CniResult *r)
{
	/* The bridge plugin lists the bridge, then the host end of the veth,
	 * then the pod's interface: the last host-side one is the veth. */
	const char *name = NULL;
	for (guint i = 0; i < r->interfaces->len; i++) {
		const CniInterface *ifc = g_ptr_array_index(r->interfaces, i);
		if (ifc->sandbox == NULL || ifc->sandbox[0] == '\0')
			name = ifc->name;
	}
	return name;
}

static gboolean step_network(PodManager *m, Pod *p, GError **error)
{
	if (p->netns == NULL)
		return TRUE; /* host network */
	CniPodArgs args;
	g_autoptr(GArray) ports =
		g_array_new(FALSE, TRUE, sizeof(CniPortMapping));
	if (!cni_args(p, &args, ports, error))
		return FALSE;
	/* Recorded before ADD: a crash during it leaves a DEL to do. */
	g_mutex_lock(&p->lock);
	p->net_attached = TRUE;
	g_mutex_unlock(&p->lock);
	if (!store_save(m->store, p, error))
		return FALSE;
	g_autoptr(CniResult) r = cni_setup(m->cni, &args, error);
	if (r == NULL)
		return FALSE;
	g_mutex_lock(&p->lock);
	g_strfreev(p->ips);
	p->ips = g_new0(char *, r->ips->len + 1);
	for (guint i = 0; i < r->ips->len; i++)
		p->ips[i] = g_strdup(g_ptr_array_index(r->ips, i));
	g_free(p->host_veth);
	p->host_veth = g_strdup(host_veth(r));
	g_mutex_unlock(&p->lock);
	return TRUE;
}

static gboolean step_hosts(PodManager *m, Pod *p, GError **error)
{
	g_autofree char *hosts = pod_file(m, p->id, "hosts");
	return pod_dns_write_hosts(hosts, pod_hostname(p),
				   (const char *const *)p->ips, error);
}

static gboolean step_infra(PodManager *m, Pod *p, GError **error)
{
	if (p->config->ns_pid != POD_NS_POD)
		return TRUE;
	const OciRuntime *rt = oci_runtimes_get(m->runtimes, p->runtime);
	if (rt == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "runtime %s is gone", p->runtime);
	if (!infra_rootfs_prepare(m->pause_rootfs, m->pause_path, error))
		return FALSE;
	g_autofree char *id = g_strdup_printf("berth-infra-%s", p->id);
	g_autofree char *bundle = g_build_filename(m->infra_root, p->id, NULL);
	g_autofree char *name = g_strdup_printf("infra-%s", p->id);
	g_autofree char *cgroup = cgroup_container_oci_path(p->cgroup, name);
	InfraSpec spec = {.id = id,
			  .bundle = bundle,
			  .rootfs = m->pause_rootfs,
			  .netns = p->netns,
			  .ipcns = p->ipcns,
			  .utsns = p->utsns,
			  .cgroup = cgroup,
			  .systemd = cgroup_path_is_systemd(p->cgroup),
			  .hostname = pod_hostname(p),
			  .userns = p->userns,
			  .userns_map = &p->config->userns_map};
	/* Recorded first: a crash during start still finds it to delete. */
	g_mutex_lock(&p->lock);
	p->infra_id = g_strdup(id);
	g_mutex_unlock(&p->lock);
	if (!store_save(m->store, p, error))
		return FALSE;
	int pid = 0;
	if (!infra_start(rt, &spec, &pid, error))
		return FALSE;
	g_mutex_lock(&p->lock);
	p->infra_pid = pid;
	g_mutex_unlock(&p->lock);
	return TRUE;
}

/* --- undo (idempotent, any subset done) ---------------------------------- */

static gboolean undo_infra(PodManager *m, Pod *p, GError **error)
{
	if (p->infra_id == NULL)
		return TRUE;
	const OciRuntime *rt = oci_runtimes_get(m->runtimes, p->runtime);
	if (rt != NULL &&
	    !infra_stop(rt, p->infra_id, cgroup_path_is_systemd(p->cgroup),
			p->infra_pid, p->netns, error))
		return FALSE;
	g_autofree char *bundle = g_build_filename(m->infra_root, p->id, NULL);
	berth_rm_rf(bundle, NULL);
	g_mutex_lock(&p->lock);
	p->infra_pid = 0;
	g_mutex_unlock(&p->lock);
	return TRUE;
}

static gboolean undo_network(PodManager *m, Pod *p, GError **error)
{
	if (p->netns == NULL || !p->net_attached)
		return TRUE; /* host network, never attached, or already DEL'd
			      */
	CniPodArgs args;
	g_autoptr(GArray) ports =
		g_array_new(FALSE, TRUE, sizeof(CniPortMapping));
	cni_args(p, &args, ports, NULL);
	if (p->netns != NULL && !pod_ns_exists(p->netns))
		args.netns_path = NULL;
	if (!cni_teardown(m->cni, &args, error))
		return FALSE;
	g_mutex_lock(&p->lock);
	g_strfreev(p->ips);
	p->ips = g_new0(char *, 1);
	p->net_attached = FALSE;
	g_mutex_unlock(&p->lock);
	return TRUE;
}

static gboolean other_pod_in(gpointer obj, gconstpointer data)
{
	const Pod *o = obj, *p = data;
	return o != p && g_strcmp0(o->cgroup, p->cgroup) == 0;
}

static gboolean undo_cgroup(PodManager *m, Pod *p, GError **error)
{
	if (p->cgroup == NULL)
		return TRUE;
	if (!cgroup_path_is_systemd(p->cgroup))
		return cgroup_remove(p->cgroup, error);
	/* A slice given to two pods (crictl users do that) stays while
	 * either has it. */
	g_autoptr(GPtrArray) sharing =
		store_list_where(m->store, other_pod_in, p);
	if (sharing->len > 0)
		return TRUE;
	g_autofree char *slice = cgroup_path_slice(p->cgroup);
	return cgroup_systemd_unit_stop(slice, POD_SLICE_DESCRIPTION, error);
}

static gboolean undo_namespaces(PodManager *m, Pod *p, GError **error)
{
	g_autofree char *dir = g_build_filename(m->ns_root, p->id, NULL);
	return pod_ns_release(dir, error);
}

typedef gboolean (*PodStep)(PodManager *m, Pod *p, GError **error);

/* Everything of a pod but its record, in the reverse order of run: for a
 * failed run, a remove, and recovery. */
static const PodStep undo_steps[] = {
	undo_infra, undo_network, undo_cgroup, undo_shm, undo_namespaces,
};

/* Keeps going past failures and reports the first. */
static gboolean undo_all(PodManager *m, Pod *p, GError **error)
{
	GError *first = NULL;
	for (gsize i = 0; i < G_N_ELEMENTS(undo_steps); i++) {
		GError *e = NULL;
		if (!undo_steps[i](m, p, &e))
			berth_keep_first_error(&first, e);
	}
	return berth_raise_first_error(error, first);
}

/* --- run ----------------------------------------------------------------- */

static void set_state(Pod *p, PodState s)
{
	g_mutex_lock(&p->lock);
	p->state = s;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
}

static gboolean run_steps(PodManager *m, Pod *p, GError **error)
{
	if (!plan_cgroup(m, p, error)) {
		g_prefix_error(error, "run pod %s: cgroup: ", p->full_name);
		return FALSE;
	}
	if (!store_save(m->store, p, error))
		return FALSE;
	/* The first record names what each step's undo needs beyond the
	 * pod's id (namespace pins, /dev/shm and files in the pod's dir
	 * follow from the id; the cgroup's path is planned above). The
	 * network and infra steps save the record themselves before their
	 * side effect; the caller saves READY at the end. */
	static const struct {
		const char *what;
		PodStep fn;
	} steps[] = {
		{"namespaces", step_namespaces}, {"/dev/shm", step_shm},
		{"DNS files", step_dns_files},	 {"cgroup", step_cgroup},
		{"network", step_network},	 {"hosts file", step_hosts},
		{"infra process", step_infra},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(steps); i++) {
		gint64 t0 = g_get_monotonic_time();
		if (!steps[i].fn(m, p, error)) {
			g_prefix_error(error, "run pod %s: %s: ", p->full_name,
				       steps[i].what);
			return FALSE;
		}
		log_debug("pod %.12s: %s %.1f ms", p->id, steps[i].what,
			  (g_get_monotonic_time() - t0) / 1000.0);
	}
	return TRUE;
}

static void fail_run(PodManager *m, Pod *p, const GError *why)
{
	g_autoptr(GError) error = NULL;
	if (!undo_all(m, p, &error))
		log_error("pod %s: undo after failed run: %s (recovery will "
			  "retry)",
			  p->id, error->message);
	else if (!store_delete(m->store, p->id, &error))
		log_error("pod %s: %s", p->id, error->message);
	g_mutex_lock(&p->lock);
	p->failure = g_strdup(why->message);
	g_mutex_unlock(&p->lock);
	store_forget(m->store, p);
	set_state(p, POD_NOTREADY);
}

/* The name is taken by holder: wait while it is being made, then decide
 * as for containers (sandbox/attempt.h). */
static AttemptVerdict claim_retry(gpointer obj, gpointer h_obj)
{
	Pod *p = obj, *holder = h_obj;
	g_mutex_lock(&holder->lock);
	while (holder->state == POD_CREATING)
		g_cond_wait(&holder->cond, &holder->lock);
	AttemptHolder h = {
		.failed = holder->failure != NULL,
		.live = holder->state == POD_READY ||
			holder->state == POD_NOTREADY,
		.same = strcmp(holder->config_hash, p->config_hash) == 0,
		.answered = holder->answered,
	};
	g_mutex_unlock(&holder->lock);
	return attempt_verdict(&h);
}

Pod *pod_manager_run(PodManager *m, PodConfig *config, GError **error)
{
	g_autofree char *id = pod_new_id();
	g_autoptr(Pod) p = pod_new(id, config);
	const OciRuntime *rt = runtime_for(m, config->runtime_handler, error);
	if (rt == NULL)
		return NULL;
	g_free(p->runtime);
	p->runtime = g_strdup(rt->name);
	p->created_at = g_get_real_time() * 1000;
	p->state = POD_CREATING;
	Pod *first = NULL;
	if (!store_reserve_attempt(m->store, p, claim_retry, (gpointer *)&first,
				   error))
		return NULL;
	if (first != NULL)
		return first;
	g_mutex_lock(&p->op_lock);
	g_autoptr(GError) local = NULL;
	gboolean ok = run_steps(m, p, &local);
	if (ok) {
		set_state(p, POD_READY);
		ok = store_save(m->store, p, &local);
	}
	if (!ok) {
		fail_run(m, p, local);
		g_mutex_unlock(&p->op_lock);
		g_propagate_error(error, g_steal_pointer(&local));
		return NULL;
	}
	g_mutex_unlock(&p->op_lock);
	log_info("pod %s (%s) is ready", p->id, p->full_name);
	return g_steal_pointer(&p);
}

void pod_manager_mark_answered(PodManager *m, Pod *p, gboolean answered)
{
	g_autoptr(GError) error = NULL;
	if (attempt_mark_answered(&p->lock, &p->answered, answered) &&
	    !store_save(m->store, p, &error))
		log_warn("pod %s: %s", p->id, error->message);
}

/* --- stop and remove ----------------------------------------------------- */

static gboolean stop_locked(PodManager *m, Pod *p, GError **error)
{
	if (pod_get_state(p) == POD_READY) {
		set_state(p, POD_NOTREADY);
		if (!store_save_unless_full(m->store, p, error))
			return FALSE;
	}
	/* The pod's containers first: they live in its namespaces. */
	if (m->hooks.stop_all != NULL &&
	    !m->hooks.stop_all(p->id, m->hooks.data, error))
		return FALSE;
	if (!undo_infra(m, p, error) || !undo_network(m, p, error))
		return FALSE;
	return store_save_unless_full(m->store, p, error);
}

gboolean pod_manager_stop(PodManager *m, const char *id, GError **error)
{
	/* An id never known or already removed: OK (kubelet's cleanup paths
	 * stop what may be gone). */
	g_autoptr(Pod) p = NULL;
	if (!store_lookup_idempotent(m->store, id, (gpointer *)&p, error))
		return FALSE;
	if (p == NULL)
		return TRUE;
	g_mutex_lock(&p->op_lock);
	gboolean ok =
		pod_get_state(p) == POD_REMOVING || stop_locked(m, p, error);
	g_mutex_unlock(&p->op_lock);
	if (ok)
		log_info("pod %s stopped", p->id);
	return ok;
}

static gboolean remove_locked(PodManager *m, Pod *p, GError **error)
{
	if (m->hooks.remove_all != NULL &&
	    !m->hooks.remove_all(p->id, m->hooks.data, error))
		return FALSE;
	set_state(p, POD_REMOVING);
	if (!store_save_unless_full(m->store, p, error) ||
	    !undo_all(m, p, error) || !store_delete(m->store, p->id, error))
		return FALSE;
	store_forget(m->store, p);
	return TRUE;
}

gboolean pod_manager_remove(PodManager *m, const char *id, GError **error)
{
	g_autoptr(Pod) p = NULL;
	if (!store_lookup_idempotent(m->store, id, (gpointer *)&p, error))
		return FALSE;
	if (p == NULL)
		return TRUE;
	g_mutex_lock(&p->op_lock);
	gboolean ok = remove_locked(m, p, error);
	g_mutex_unlock(&p->op_lock);
	if (ok)
		log_info("pod %s removed", p->id);
	return ok;
}

/* --- recovery ------------------------------------------------------------ */

static void recover_one(PodManager *m, Pod *p)
{
	g_autoptr(GError) error = NULL;
	switch (p->state) {
	case POD_CREATING:
	case POD_REMOVING:
		log_info("pod %s was %s when berthd stopped: finishing its "
			 "removal",
			 p->id,
			 p->state == POD_CREATING ? "being created"
						  : "being removed");
		if (!undo_all(m, p, &error) ||
		    !store_delete(m->store, p->id, &error))
			log_error("pod %s: %s (will retry at next start)",
				  p->id, error->message);
		return;
	case POD_READY: {
		gboolean ns_ok = p->netns == NULL || pod_ns_exists(p->netns);
		const OciRuntime *rt =
			oci_runtimes_get(m->runtimes, p->runtime);
		gboolean infra_ok =
			p->infra_id == NULL ||
			(rt != NULL && infra_running(rt, p->infra_id));
		if (!ns_ok || !infra_ok) {
			log_info("pod %s: %s gone: NOTREADY", p->id,
				 !ns_ok ? "network namespace"
					: "infra process");
			p->state = POD_NOTREADY;
			if (!store_save(m->store, p, &error))
				log_error("pod %s: %s", p->id, error->message);
		}
		break;
	}
	case POD_NOTREADY:
		break;
	}
	store_add(m->store, p);
}

void pod_manager_recover(PodManager *m)
{
	g_autoptr(GPtrArray) pods = store_read_all(m->store);
	for (guint i = 0; i < pods->len; i++)
		recover_one(m, g_ptr_array_index(pods, i));
	log_info("recovered %u pods", store_count(m->store));
}
