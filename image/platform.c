/* Choosing one image manifest out of an index for a platform: name
 * normalisation, default variants, and "vN runs anything older" matching. */
#include "image/manifest.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

static const struct {
	const char *alias;
	const char *arch;
	const char *variant; /* implied by the alias, or NULL */
} platform_arch_aliases[] = {
	{"x86_64", "amd64", NULL},  {"x86-64", "amd64", NULL},
	{"aarch64", "arm64", NULL}, {"armhf", "arm", "v7"},
	{"armel", "arm", "v6"},	    {"i386", "386", NULL},
	{"i486", "386", NULL},	    {"i586", "386", NULL},
	{"i686", "386", NULL},
};

static const struct {
	const char *arch;
	const char *variant;
} platform_default_variants[] = {
	{"amd64", "v1"},
	{"arm64", "v8"},
	{"arm", "v7"},
};

/* "8" and "v8" name the same variant; returns a static string when the
 * input is one of those, else the input. */
static const char *platform_variant_name(const char *variant)
{
	static const char *const numbered[] = {"v1", "v2", "v3", "v4", "v5",
					       "v6", "v7", "v8", "v9"};
	if (variant && variant[0] >= '1' && variant[0] <= '9' &&
	    variant[1] == '\0')
		return numbered[variant[0] - '1'];
	return variant;
}

void image_platform_normalize(const char *os, const char *arch,
			      const char *variant, const char **n_os,
			      const char **n_arch, const char **n_variant)
{
	if (variant != NULL && *variant == '\0')
		variant = NULL;
	for (gsize i = 0; arch && i < G_N_ELEMENTS(platform_arch_aliases);
	     i++) {
		if (strcmp(arch, platform_arch_aliases[i].alias) == 0) {
			arch = platform_arch_aliases[i].arch;
			if (variant == NULL)
				variant = platform_arch_aliases[i].variant;
			break;
		}
	}
	for (gsize i = 0; arch && variant == NULL &&
			  i < G_N_ELEMENTS(platform_default_variants);
	     i++)
		if (strcmp(arch, platform_default_variants[i].arch) == 0)
			variant = platform_default_variants[i].variant;
	*n_os = os;
	*n_arch = arch;
	*n_variant = platform_variant_name(variant);
}

void image_platform_host(const char **os, const char **arch,
			 const char **variant)
{
#if defined(__x86_64__)
	const char *a = "amd64";
#elif defined(__aarch64__)
	const char *a = "arm64";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH <= 6
	const char *a = "armel";
#elif defined(__arm__)
	const char *a = "armhf";
#elif defined(__i386__)
	const char *a = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const char *a = "ppc64le";
#elif defined(__s390x__)
	const char *a = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	const char *a = "riscv64";
#else
	const char *a = "unknown";
#endif
	image_platform_normalize("linux", a, NULL, os, arch, variant);
}

/* N for "vN", 0 otherwise. */
static int platform_variant_level(const char *variant)
{
	if (variant == NULL || variant[0] != 'v' ||
	    !g_ascii_isdigit(variant[1]))
		return 0;
	char *end;
	long n = strtol(variant + 1, &end, 10);
	return *end == '\0' && n > 0 && n < 1000 ? (int)n : 0;
}

/* How well entry e fits; 0 when it does not. An exact variant beats any
 * older level, and nearer levels beat farther ones. */
static int platform_score(const ImageIndexEntry *e, const char *os,
			  const char *arch, const char *variant)
{
	const char *e_os, *e_arch, *e_variant;
	image_platform_normalize(e->os, e->architecture, e->variant, &e_os,
				 &e_arch, &e_variant);
	if (g_strcmp0(e_os, os) != 0 || g_strcmp0(e_arch, arch) != 0)
		return 0;
	if (g_strcmp0(e_variant, variant) == 0)
		return 10000;
	int want = platform_variant_level(variant);
	int have = platform_variant_level(e_variant);
	if (want == 0 || have == 0 || have > want)
		return 0;
	return 1000 - (want - have);
}

static gboolean platform_entry_is_image(const ImageIndexEntry *e)
{
	return strcmp(e->desc.media_type, IMAGE_MEDIA_OCI_MANIFEST) == 0 ||
	       strcmp(e->desc.media_type, IMAGE_MEDIA_DOCKER_MANIFEST) == 0;
}

static char *platform_offered(const ImageIndex *index)
{
	g_autoptr(GString) s = g_string_new(NULL);
	for (guint i = 0; i < index->manifests->len; i++) {
		const ImageIndexEntry *e = index->manifests->pdata[i];
		if (e->os == NULL || !platform_entry_is_image(e))
			continue;
		g_string_append_printf(s, "%s%s/%s%s%s", s->len ? ", " : "",
				       e->os, e->architecture,
				       e->variant ? "/" : "",
				       e->variant ? e->variant : "");
	}
	if (s->len == 0)
		g_string_append(s, "none");
	return g_string_free(g_steal_pointer(&s), FALSE);
}

const ImageIndexEntry *image_index_select(const ImageIndex *index,
					  const char *os, const char *arch,
					  const char *variant, GError **error)
{
	const char *n_os, *n_arch, *n_variant;
	const ImageIndexEntry *best = NULL;
	int best_score = 0;
	image_platform_normalize(os, arch, variant, &n_os, &n_arch, &n_variant);
	for (guint i = 0; i < index->manifests->len; i++) {
		const ImageIndexEntry *e = index->manifests->pdata[i];
		if (!platform_entry_is_image(e) || e->os == NULL)
			continue;
		int score = platform_score(e, n_os, n_arch, n_variant);
		if (score > best_score) {
			best = e;
			best_score = score;
		}
	}
	if (best == NULL && index->manifests->len == 1) {
		const ImageIndexEntry *e = index->manifests->pdata[0];
		if (platform_entry_is_image(e) && e->os == NULL)
			best = e;
	}
	if (best == NULL) {
		g_autofree char *offered = platform_offered(index);
		berth_throw(error, NOT_FOUND,
			    "no image for %s/%s%s%s in the index (it has: %s)",
			    os, arch, variant && *variant ? "/" : "",
			    variant ? variant : "", offered);
	}
	return best;
}
