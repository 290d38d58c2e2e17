/* runtime.v1 method -> handler. An RPC missing here is still registered
 * and answers UNIMPLEMENTED, naming itself, until its handler lands. */
#include "cri/methods.h"
#include "server/server.h"

static const CriMethodImpl runtime_methods[] = {
	{"Version", CRI_DISPATCH_INLINE, server_version, NULL},
	{"Status", CRI_DISPATCH_INLINE, server_status, NULL},
	{"RuntimeConfig", CRI_DISPATCH_INLINE, server_runtime_config, NULL},
	{"UpdateRuntimeConfig", CRI_DISPATCH_INLINE,
	 server_update_runtime_config, NULL},
	{"RunPodSandbox", CRI_DISPATCH_THREAD, server_run_pod_sandbox, NULL},
	{"StopPodSandbox", CRI_DISPATCH_THREAD, server_stop_pod_sandbox, NULL},
	{"RemovePodSandbox", CRI_DISPATCH_THREAD, server_remove_pod_sandbox,
	 NULL},
	{"PodSandboxStatus", CRI_DISPATCH_INLINE, server_pod_sandbox_status,
	 NULL},
	{"ListPodSandbox", CRI_DISPATCH_INLINE, server_list_pod_sandbox, NULL},
	{"StreamPodSandboxes", CRI_DISPATCH_THREAD, NULL,
	 server_stream_pod_sandboxes},
	{"PodSandboxStats", CRI_DISPATCH_THREAD, server_pod_sandbox_stats,
	 NULL},
	{"ListPodSandboxStats", CRI_DISPATCH_THREAD,
	 server_list_pod_sandbox_stats, NULL},
	{"StreamPodSandboxStats", CRI_DISPATCH_THREAD, NULL,
	 server_stream_pod_sandbox_stats},
	{"CreateContainer", CRI_DISPATCH_THREAD, server_create_container, NULL},
	{"StartContainer", CRI_DISPATCH_THREAD, server_start_container, NULL},
	{"StopContainer", CRI_DISPATCH_THREAD, server_stop_container, NULL},
	{"RemoveContainer", CRI_DISPATCH_THREAD, server_remove_container, NULL},
	{"ContainerStatus", CRI_DISPATCH_INLINE, server_container_status_rpc,
	 NULL},
	{"ListContainers", CRI_DISPATCH_INLINE, server_list_containers, NULL},
	{"StreamContainers", CRI_DISPATCH_THREAD, NULL,
	 server_stream_containers},
	{"ExecSync", CRI_DISPATCH_THREAD, server_exec_sync, NULL},
	{"Exec", CRI_DISPATCH_INLINE, server_exec, NULL},
	{"Attach", CRI_DISPATCH_INLINE, server_attach, NULL},
	{"PortForward", CRI_DISPATCH_INLINE, server_port_forward, NULL},
	{"ReopenContainerLog", CRI_DISPATCH_THREAD, server_reopen_container_log,
	 NULL},
	{"GetContainerEvents", CRI_DISPATCH_THREAD, NULL,
	 server_get_container_events},
	{"ContainerStats", CRI_DISPATCH_THREAD, server_container_stats, NULL},
	{"ListContainerStats", CRI_DISPATCH_THREAD, server_list_container_stats,
	 NULL},
	{"StreamContainerStats", CRI_DISPATCH_THREAD, NULL,
	 server_stream_container_stats},
	{"ListMetricDescriptors", CRI_DISPATCH_INLINE,
	 server_list_metric_descriptors, NULL},
	{"ListPodSandboxMetrics", CRI_DISPATCH_THREAD,
	 server_list_pod_sandbox_metrics, NULL},
	{"StreamPodSandboxMetrics", CRI_DISPATCH_THREAD, NULL,
	 server_stream_pod_sandbox_metrics},
	{"UpdateContainerResources", CRI_DISPATCH_THREAD,
	 server_update_container_resources, NULL},
	{"UpdatePodSandboxResources", CRI_DISPATCH_THREAD,
	 server_update_pod_sandbox_resources, NULL},
};

static const CriMethodImpl image_methods[] = {
	{"ListImages", CRI_DISPATCH_INLINE, server_list_images, NULL},
	{"StreamImages", CRI_DISPATCH_THREAD, NULL, server_stream_images},
	{"ImageStatus", CRI_DISPATCH_INLINE, server_image_status, NULL},
	{"PullImage", CRI_DISPATCH_THREAD, server_pull_image, NULL},
	{"RemoveImage", CRI_DISPATCH_THREAD, server_remove_image, NULL},
	{"ImageFsInfo", CRI_DISPATCH_INLINE, server_image_fs_info, NULL},
};

void cri_methods_register(CriServer *srv)
{
	cri_server_add_service(srv, &runtime__v1__runtime_service__descriptor,
			       runtime_methods, G_N_ELEMENTS(runtime_methods));
	cri_server_add_service(srv, &runtime__v1__image_service__descriptor,
			       image_methods, G_N_ELEMENTS(image_methods));
}
