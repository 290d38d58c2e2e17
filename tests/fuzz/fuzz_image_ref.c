/* Fuzz target: image/ref.c, image references and image IDs. A reference
 * that parses must print to a string that parses to the same reference. */
#include "image/ref.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

#include <string.h>

static void check_roundtrip(const ImageRef *ref)
{
	g_autofree char *s = image_ref_string(ref);
	g_autoptr(ImageRef) again = NULL;
	g_autoptr(GError) error = NULL;
	if (!image_ref_parse(s, &again, &error))
		fuzz_fail("\"%s\" does not parse back: %s", s, error->message);
	g_autofree char *s2 = image_ref_string(again);
	fuzz_check(strcmp(s, s2) == 0);
	fuzz_check(strcmp(ref->domain, again->domain) == 0);
	fuzz_check(strcmp(ref->path, again->path) == 0);
	fuzz_check(g_strcmp0(ref->tag, again->tag) == 0);
	fuzz_check(g_strcmp0(ref->digest, again->digest) == 0);
}

static void check_other_domain(const ImageRef *ref, const char *domain)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(ImageRef) moved = image_ref_with_domain(ref, domain, &error);
	if (moved == NULL)
		return;
	check_roundtrip(moved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *s = fuzz_cstr(data, size);
	g_autofree char *id = image_ref_parse_id(s);
	if (id != NULL)
		fuzz_check(g_str_has_prefix(id, "sha256:") && strlen(id) == 71);
	g_autoptr(GError) error = NULL;
	(void)image_ref_validate_domain(s, &error);
	g_clear_error(&error);
	(void)image_ref_validate_tag(s, &error);
	g_clear_error(&error);

	g_autoptr(ImageRef) ref = NULL;
	if (!image_ref_parse(s, &ref, &error)) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return 0;
	}
	fuzz_check(ref->tag != NULL || ref->digest != NULL);
	g_autofree char *repo = image_ref_repo(ref);
	g_autofree char *repo_tag = image_ref_repo_tag(ref);
	g_autofree char *repo_digest = image_ref_repo_digest(ref);
	fuzz_check(repo != NULL);
	fuzz_check((repo_tag != NULL) == (ref->tag != NULL));
	fuzz_check((repo_digest != NULL) == (ref->digest != NULL));
	g_autoptr(ImageRef) copy = image_ref_copy(ref);
	check_roundtrip(ref);
	check_roundtrip(copy);
	check_other_domain(ref, "docker.io");
	check_other_domain(ref, "localhost:5000");
	return 0;
}
