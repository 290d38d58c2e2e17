/* BerthServer setup: the state every handler reads. */
#include "server/server.h"
#include "server/stats_cache.h"
#include "server/metrics_http.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

/* The image side: the store under <root>/storage, registries.conf (a
 * missing file means the defaults) and the puller over both. */
static gboolean server_open_images(BerthServer *s, GError **error)
{
	const BerthConfig *c = s->config;
	g_autofree char *storage = g_build_filename(c->root, "storage", NULL);
	s->registries = registries_load(
		c->registries_conf, (const char *const *)c->insecure_registries,
		error);
	if (s->registries == NULL)
		return FALSE;
	s->images = image_store_open(storage, error);
	if (s->images == NULL)
		return FALSE;
	ImagePullerOptions po = {
		.store = s->images,
		.registries = s->registries,
		.auth_file = c->auth_file,
		.max_parallel = (guint)c->max_parallel_downloads,
		.stall_seconds = (guint)c->pull_progress_timeout,
	};
	s->puller = image_puller_new(&po);
	return TRUE;
}

static gboolean hook_stop_all(const char *pod_id, gpointer data, GError **error)
{
	return ctr_manager_stop_pod(data, pod_id, error);
}

static gboolean hook_remove_all(const char *pod_id, gpointer data,
				GError **error)
{
	return ctr_manager_remove_pod(data, pod_id, error);
}

static gboolean image_in_use(const char *id, void *data)
{
	return ctr_manager_image_in_use(data, id);
}

/* Containers over pods and images; pods recovered first, as containers
 * are found through them. */
static gboolean server_open_containers(BerthServer *s, const char *conmon,
				       GError **error)
{
	s->events = event_bus_new();
	static const char *const no_dirs[] = {NULL};
	s->cdi = cdi_registry_new(
		s->config->cdi_spec_dirs != NULL
			? (const char *const *)s->config->cdi_spec_dirs
			: no_dirs);
	CtrManagerDeps cd = {.config = s->config,
			     .pods = s->pods,
			     .images = s->images,
			     .runtimes = s->runtimes,
			     .events = s->events,
			     .cdi = s->cdi,
			     .conmon_path = conmon};
	s->containers = ctr_manager_new(&cd, error);
	if (s->containers == NULL)
		return FALSE;
	PodContainerHooks hooks = {.stop_all = hook_stop_all,
				   .remove_all = hook_remove_all,
				   .data = s->containers};
	pod_manager_set_container_hooks(s->pods, &hooks);
	image_store_set_in_use_check(s->images, image_in_use, s->containers);
	return ctr_manager_recover(s->containers, error);
}

static void server_note_recovery(BerthServer *s, gint64 usec)
{
	g_autoptr(GPtrArray) ctrs = ctr_manager_list(s->containers);
	berth_metrics_recovered(store_count(pod_manager_store(s->pods)),
				ctrs->len, usec);
}

/* The operator's /metrics, when enabled. */
static gboolean server_start_metrics(BerthServer *s, GError **error)
{
	MetricsRegistry *r = berth_metrics_registry();
	if (r == NULL)
		return TRUE;
	s->metrics = metrics_http_start(
		s->config->metrics_address, s->config->metrics_cert,
		s->config->metrics_key, r, s->containers, error);
	return s->metrics != NULL;
}

BerthServer *berth_server_new(BerthConfig *config, const char *pause_path,
			      const char *conmon_path, GError **error)
{
	/* Under root, not runroot: systemd mounts /run nodev, and a rootfs
	 * there cannot give a container its /dev/null. */
	g_autofree char *probe_dir =
		g_build_filename(config->root, "probe", NULL);
	g_autofree char *cni_cache =
		g_build_filename(config->root, "network", "cni-cache", NULL);
	if (!berth_mkdir_p(config->root, 0711, error) ||
	    !berth_mkdir_p(config->runroot, 0711, error))
		return NULL;

	g_autoptr(CniManager) cni =
		cni_manager_new(config->cni_conf_dir,
				(const char *const *)config->cni_plugin_dirs,
				config->cni_default_network, cni_cache,
				(guint)config->cni_timeout, error);
	if (cni == NULL)
		return NULL;

	/* First: recovery and the probes below already record. */
	if (config->enable_metrics)
		berth_metrics_enable();
	BerthServer *s = g_new0(BerthServer, 1);
	s->config = config;
	g_mutex_init(&s->lock);
	s->pod_cidr = g_strdup("");
	s->cni = g_steal_pointer(&cni);
	if (!server_open_images(s, error)) {
		berth_server_free(s);
		return NULL;
	}
	g_autofree char *probe_cache =
		g_build_filename(config->runroot, "probe-cache.json", NULL);
	s->runtimes =
		oci_runtimes_probe(config, pause_path, probe_dir, probe_cache);
	log_info("%s", s->runtimes->default_why);
	log_info("cgroup manager %s (%s)", s->config->cgroup_manager,
		 s->config->cgroup_manager_auto
			 ? (strcmp(s->config->cgroup_manager, "systemd") == 0
				    ? "PID 1 is systemd; set cgroup_manager "
				      "to choose"
				    : "PID 1 is not systemd; set "
				      "cgroup_manager to choose")
			 : "set in the configuration");
	PodManagerDeps deps = {.config = config,
			       .cni = s->cni,
			       .runtimes = s->runtimes,
			       .pause_path = pause_path};
	s->pods = pod_manager_new(&deps, error);
	if (s->pods == NULL) {
		berth_server_free(s);
		return NULL;
	}
	gint64 recovery = g_get_monotonic_time();
	pod_manager_recover(s->pods);
	if (!server_open_containers(s, conmon_path, error)) {
		berth_server_free(s);
		return NULL;
	}
	server_note_recovery(s, g_get_monotonic_time() - recovery);
	s->streaming =
		streaming_server_new(config, s->containers, s->pods, error);
	if (s->streaming == NULL || !server_start_metrics(s, error)) {
		berth_server_free(s);
		return NULL;
	}
	stats_cache_start(config->stats_collection_period);
	if (config->stats_collection_period > 0)
		log_info("stats collected every %" G_GINT64_FORMAT " s",
			 config->stats_collection_period);
	return s;
}

void berth_server_close_streams(BerthServer *s)
{
	event_bus_close(s->events);
}

void berth_server_free(BerthServer *s)
{
	if (s == NULL)
		return;
	stats_cache_stop();
	metrics_http_stop(s->metrics);
	streaming_server_free(s->streaming);
	ctr_manager_free(s->containers);
	cdi_registry_free(s->cdi);
	pod_manager_free(s->pods);
	event_bus_free(s->events);
	image_puller_free(s->puller);
	image_store_free(s->images);
	registries_free(s->registries);
	oci_runtimes_free(s->runtimes);
	cni_manager_free(s->cni);
	g_free(s->pod_cidr);
	g_mutex_clear(&s->lock);
	g_free(s);
	/* Last: nothing that records runs any more. */
	berth_metrics_disable();
}

char *berth_server_summary(BerthServer *s)
{
	g_autoptr(GPtrArray) ctrs = ctr_manager_list(s->containers);
	return g_strdup_printf(
		"serving CRI on %s: %u pods, %u containers", s->config->listen,
		store_count(pod_manager_store(s->pods)), ctrs->len);
}
