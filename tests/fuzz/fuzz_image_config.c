/* Fuzz target: image/config.c, OCI and Docker image configs, and the
 * check that a manifest's layers and a config's diff_ids agree. */
#include "image/manifest.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

static void check_strv(char **v)
{
	fuzz_check(v != NULL);
	for (; *v != NULL; v++)
		fuzz_check(g_utf8_validate(*v, -1, NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(ImageConfig) c = NULL;
	g_autoptr(GError) error = NULL;
	if (!image_config_parse((const char *)data, size, &c, &error)) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return 0;
	}
	fuzz_check(c->architecture != NULL && c->os != NULL);
	check_strv(c->env);
	check_strv(c->entrypoint);
	check_strv(c->cmd);
	check_strv(c->exposed_ports);
	check_strv(c->volumes);
	check_strv(c->diff_ids);
	fuzz_check(c->labels != NULL);

	ImageManifest m = {.kind = IMAGE_MANIFEST_OCI_MANIFEST};
	g_autoptr(GPtrArray) layers = g_ptr_array_new();
	m.layers = layers;
	g_autoptr(GError) mismatch = NULL;
	gboolean ok = image_manifest_check_config(&m, c, &mismatch);
	fuzz_check(ok == (g_strv_length(c->diff_ids) == 0));
	return 0;
}
