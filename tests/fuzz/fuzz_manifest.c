/* Fuzz target: image/manifest.c, OCI image indexes and manifests and
 * Docker manifest lists and manifests: kind detection (the first input
 * byte picks the Content-Type the registry sent), parsing, platform
 * selection from an index. */
#include "image/manifest.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

static const char *const content_types[] = {
	NULL,
	IMAGE_MEDIA_OCI_INDEX,
	IMAGE_MEDIA_OCI_MANIFEST,
	IMAGE_MEDIA_DOCKER_LIST,
	IMAGE_MEDIA_DOCKER_MANIFEST,
	IMAGE_MEDIA_DOCKER_SCHEMA1_SIGNED,
	"application/json; charset=utf-8",
	"",
};

static const char *const platforms[][3] = {
	{"linux", "amd64", NULL},
	{"linux", "arm", "v6"},
	{"linux", "arm64", NULL},
	{"windows", "amd64", NULL},
};

static void check_descriptor(const ImageDescriptor *d)
{
	fuzz_check(d->media_type != NULL && d->digest != NULL);
	fuzz_check(d->size >= 0);
}

static void index_select(const ImageIndex *index)
{
	for (guint i = 0; i < index->manifests->len; i++) {
		const ImageIndexEntry *e = index->manifests->pdata[i];
		check_descriptor(&e->desc);
	}
	for (guint i = 0; i < G_N_ELEMENTS(platforms); i++) {
		g_autoptr(GError) error = NULL;
		const ImageIndexEntry *e = image_index_select(
			index, platforms[i][0], platforms[i][1],
			platforms[i][2], &error);
		fuzz_check(e != NULL || error != NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = content_types[data[0] % G_N_ELEMENTS(content_types)];
	const char *body = (const char *)data + 1;
	gsize len = size - 1;
	ImageManifestKind kind = IMAGE_MANIFEST_UNKNOWN;
	g_autoptr(GError) error = NULL;
	if (!image_manifest_detect(body, len, ct, &kind, &error)) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return 0;
	}
	fuzz_check(image_manifest_kind_media_type(kind) != NULL);
	if (image_manifest_kind_is_index(kind)) {
		g_autoptr(ImageIndex) index = NULL;
		if (image_index_parse(body, len, ct, &index, &error))
			index_select(index);
		return 0;
	}
	g_autoptr(ImageManifest) m = NULL;
	if (!image_manifest_parse(body, len, ct, &m, &error))
		return 0;
	check_descriptor(&m->config);
	for (guint i = 0; i < m->layers->len; i++) {
		const ImageLayer *l = m->layers->pdata[i];
		check_descriptor(&l->desc);
	}
	return 0;
}
