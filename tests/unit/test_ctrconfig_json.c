/* sandbox/container/ctrconfig-json.c: what the container record keeps of
 * image volumes and CDI devices survives a round trip, and a config
 * without CDI devices writes (and hashes) as records did before them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "sandbox/container/ctrconfig-json.h"
#include "util/jsonutil.h"

static CtrConfig *round_trip(const CtrConfig *c)
{
	g_autoptr(json_t) o = ctr_config_to_json(c);
	g_autofree char *text = json_dumps(o, JSON_COMPACT);
	g_autoptr(json_t) back = json_loads(text, 0, NULL);
	g_autoptr(GError) err = NULL;
	CtrConfig *r = ctr_config_from_json(back, &err);
	g_assert_no_error(err);
	return r;
}

static void test_image_mount(void **state)
{
	(void)state;
	g_autoptr(CtrConfig) c = ctr_config_new();
	ctr_config_add_mount(c, "/host", "/srv", TRUE, CTR_PROPAGATION_PRIVATE);
	ctr_config_add_image_mount(c, "/vol", "busybox:1", "sha256:ab",
				   "data/x", FALSE);
	g_autoptr(CtrConfig) r = round_trip(c);
	assert_int_equal(r->mounts->len, 2);
	const CtrMount *h = g_ptr_array_index(r->mounts, 0);
	assert_string_equal(h->host_path, "/srv");
	assert_string_equal(h->image, "");
	assert_string_equal(h->image_id, "");
	const CtrMount *m = g_ptr_array_index(r->mounts, 1);
	assert_string_equal(m->container_path, "/vol");
	assert_string_equal(m->host_path, "");
	assert_string_equal(m->image, "busybox:1");
	assert_string_equal(m->image_id, "sha256:ab");
	assert_string_equal(m->image_sub_path, "data/x");
	assert_false(m->readonly);
}

static void test_cdi_devices(void **state)
{
	(void)state;
	g_autoptr(CtrConfig) c = ctr_config_new();
	g_autofree char *before = ctr_config_hash(c, "img");
	g_autoptr(json_t) plain = ctr_config_to_json(c);
	assert_null(json_object_get(plain, "cdi_devices"));
	g_strfreev(c->cdi_devices);
	const char *names[] = {"v.com/gpu=0", "v.com/gpu=1", NULL};
	c->cdi_devices = g_strdupv((char **)names);
	g_autofree char *after = ctr_config_hash(c, "img");
	assert_string_not_equal(before, after);
	g_autoptr(CtrConfig) r = round_trip(c);
	assert_int_equal(g_strv_length(r->cdi_devices), 2);
	assert_string_equal(r->cdi_devices[1], "v.com/gpu=1");
	/* A record from before: no key, an empty list. */
	g_autoptr(CtrConfig) empty = ctr_config_new();
	g_autoptr(CtrConfig) old = round_trip(empty);
	assert_non_null(old->cdi_devices);
	assert_null(old->cdi_devices[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_mount),
		cmocka_unit_test(test_cdi_devices),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
