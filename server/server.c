/* BerthServer setup: the state every handler reads. */
#include "server/server.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

BerthServer *berth_server_new(BerthConfig *config, const char *pause_path,
			      GError **error)
{
	g_autofree char *probe_dir =
		g_build_filename(config->runroot, "probe", NULL);
	g_autofree char *cni_cache =
		g_build_filename(config->root, "network", "cni-cache", NULL);
	g_autofree char *storage =
		g_build_filename(config->root, "storage", NULL);
	if (!berth_mkdir_p(config->root, 0711, error) ||
	    !berth_mkdir_p(config->runroot, 0711, error))
		return NULL;

	g_autoptr(CniManager) cni = cni_manager_new(
		config->cni_conf_dir,
		(const char *const *)config->cni_plugin_dirs,
		config->cni_default_network, cni_cache, 0, error);
	if (cni == NULL)
		return NULL;
	ImageFsUsage usage;
	if (!image_fs_usage_scan(storage, &usage, error))
		return NULL;

	BerthServer *s = g_new0(BerthServer, 1);
	s->config = config;
	s->runtimes = oci_runtimes_probe(config, pause_path, probe_dir);
	log_info("%s", s->runtimes->default_why);
	s->cni = g_steal_pointer(&cni);
	s->storage_dir = g_steal_pointer(&storage);
	s->pod_cidr = g_strdup("");
	PodManagerDeps deps = {.config = config,
			       .cni = s->cni,
			       .runtimes = s->runtimes,
			       .pause_path = pause_path};
	s->pods = pod_manager_new(&deps, error);
	if (s->pods == NULL) {
		berth_server_free(s);
		return NULL;
	}
	pod_manager_recover(s->pods);
	s->image_fs = usage;
	g_mutex_init(&s->lock);
	return s;
}

void berth_server_free(BerthServer *s)
{
	if (s == NULL)
		return;
	pod_manager_free(s->pods);
	oci_runtimes_free(s->runtimes);
	cni_manager_free(s->cni);
	g_free(s->storage_dir);
	g_free(s->pod_cidr);
	image_fs_usage_clear(&s->image_fs);
	g_mutex_clear(&s->lock);
	g_free(s);
}
