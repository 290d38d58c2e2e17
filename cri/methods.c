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
};

static const CriMethodImpl image_methods[] = {
	{"ImageFsInfo", CRI_DISPATCH_INLINE, server_image_fs_info, NULL},
};

void cri_methods_register(CriServer *srv)
{
	cri_server_add_service(srv, &runtime__v1__runtime_service__descriptor,
			       runtime_methods, G_N_ELEMENTS(runtime_methods));
	cri_server_add_service(srv, &runtime__v1__image_service__descriptor,
			       image_methods, G_N_ELEMENTS(image_methods));
}
