/* Fuzz target: image/registries.c, containers-registries.conf(5) v2 as a
 * drop-in merged over the defaults, then the short-name candidates and the
 * endpoints (mirrors, rewrites, blocked) for a few references. A first
 * line "# ref: <reference>" adds that reference to the ones looked up. */
#include "image/registries.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

#include <string.h>

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const refs[] = {
	"busybox",
	"library/busybox:1.36",
	"docker.io/library/busybox:latest",
	("quay.io/ns/app@sha256:" D64),
	"localhost:5000/team/app:v1",
	"registry.example.com/a/b/c:tag",
	"[::1]:5000/x",
};

static void endpoints(const Registries *r, const ImageRef *ref)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) eps = registries_endpoints(r, ref, &error);
	if (eps == NULL) {
		fuzz_check(error != NULL);
		return;
	}
	for (guint i = 0; i < eps->len; i++) {
		const RegistryEndpoint *e = eps->pdata[i];
		fuzz_check(e->host != NULL && e->repo != NULL &&
			   e->ref != NULL);
		g_autofree char *s = image_ref_string(e->ref);
		fuzz_check(s != NULL);
		(void)registries_host_is_loopback(e->host);
	}
}

static void lookup(const Registries *r, const char *s)
{
	g_autoptr(ImageRef) ref = NULL;
	g_autoptr(GError) error = NULL;
	if (!image_ref_parse(s, &ref, &error))
		return;
	g_autoptr(GPtrArray) cands = registries_candidates(r, ref, &error);
	if (cands == NULL) {
		fuzz_check(error != NULL);
		return;
	}
	for (guint i = 0; i < cands->len; i++)
		endpoints(r, cands->pdata[i]);
}

/* "# ref: X" on the first line: X, else NULL. */
static char *first_line_ref(const uint8_t *data, size_t size)
{
	static const char tag[] = "# ref: ";
	if (size < sizeof tag || memcmp(data, tag, sizeof tag - 1) != 0)
		return NULL;
	const char *s = (const char *)data + sizeof tag - 1;
	const char *end = memchr(s, '\n', size - (sizeof tag - 1));
	gsize n = end ? (gsize)(end - s) : size - (sizeof tag - 1);
	return g_strndup(s, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(Registries) r = registries_new_default();
	g_autoptr(GError) error = NULL;
	if (!registries_merge_toml(r, (const char *)data, size, "fuzz.conf",
				   &error)) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return 0;
	}
	for (const char *const *s = registries_search(r); *s != NULL; s++)
		fuzz_check(**s != '\0');
	for (guint i = 0; i < G_N_ELEMENTS(refs); i++)
		lookup(r, refs[i]);
	g_autofree char *extra = first_line_ref(data, size);
	if (extra != NULL)
		lookup(r, extra);
	return 0;
}
