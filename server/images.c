/* ImageService handlers. */
#include "server/reply.h"
#include "server/server.h"

BERTH_UNARY(server_image_fs_info)
{
	(void)req;
	(void)error;
	BerthServer *s = ctx;
	Runtime__V1__ImageFsInfoResponse *r =
		reply_new(call, Runtime__V1__ImageFsInfoResponse,
			  runtime__v1__image_fs_info_response__init);
	Runtime__V1__FilesystemUsage *u =
		reply_new(call, Runtime__V1__FilesystemUsage,
			  runtime__v1__filesystem_usage__init);
	u->fs_id = reply_new(call, Runtime__V1__FilesystemIdentifier,
			     runtime__v1__filesystem_identifier__init);
	u->used_bytes = reply_new(call, Runtime__V1__UInt64Value,
				  runtime__v1__uint64_value__init);
	u->inodes_used = reply_new(call, Runtime__V1__UInt64Value,
				   runtime__v1__uint64_value__init);
	g_mutex_lock(&s->lock);
	u->timestamp = s->image_fs.timestamp_ns;
	u->fs_id->mountpoint = reply_str(call, s->image_fs.mountpoint);
	u->used_bytes->value = s->image_fs.used_bytes;
	u->inodes_used->value = s->image_fs.inodes_used;
	g_mutex_unlock(&s->lock);
	r->image_filesystems = arena_new0(cri_call_arena(call),
					  Runtime__V1__FilesystemUsage *);
	r->image_filesystems[0] = u;
	r->n_image_filesystems = 1;
	return &r->base;
}
