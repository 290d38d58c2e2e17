/* A container's image volumes (CRI mounts that name an image): mounted
 * before its OCI spec is built, which binds them into the container, and
 * unmounted with the rest of it. The record's config names them, so
 * undoing needs nothing else. */
#include "sandbox/container/ctr-private.h"
#include "util/error.h"

#include <string.h>

GPtrArray *ctr_volumes_mount(CtrManager *m, Container *c, GError **error)
{
	g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *mounts = c->config->mounts;
	for (guint i = 0; i < mounts->len; i++) {
		const CtrMount *cm = g_ptr_array_index(mounts, i);
		char *path = NULL;
		if (cm->image[0] != '\0' &&
		    !image_volume_mount(m->images, cm->image_id,
					cm->image_sub_path, c->dir, i, &path,
					error)) {
			g_prefix_error(error, "image volume %s (%s): ",
				       cm->container_path, cm->image);
			return NULL;
		}
		g_ptr_array_add(paths, path);
	}
	return g_steal_pointer(&paths);
}

gboolean ctr_volumes_unmount(CtrManager *m, Container *c, GError **error)
{
	GPtrArray *mounts = c->config->mounts;
	GError *first = NULL;
	for (guint i = 0; i < mounts->len; i++) {
		const CtrMount *cm = g_ptr_array_index(mounts, i);
		GError *e = NULL;
		if (cm->image[0] != '\0' &&
		    !image_volume_unmount(m->images, cm->image_id, c->dir, i,
					  &e))
			berth_keep_first_error(&first, e);
	}
	return berth_raise_first_error(error, first);
}

gboolean ctr_volumes_use_image(Container *c, const char *image_id)
{
	GPtrArray *mounts = c->config->mounts;
	for (guint i = 0; i < mounts->len; i++) {
		const CtrMount *cm = g_ptr_array_index(mounts, i);
		if (strcmp(cm->image_id, image_id) == 0)
			return TRUE;
	}
	return FALSE;
}
