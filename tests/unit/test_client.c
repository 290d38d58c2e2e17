/* berthctl's pure parts: percentiles, crictl JSON configs to protobuf and
 * back, id prefix resolution, smaps_rollup parsing, human sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "client/bench.h"
#include "client/ctl.h"
#include "client/pbjson.h"
#include "client/resolve.h"
#include "client/stats.h"
#include "util/error.h"

static void test_percentiles(void **state)
{
	(void)state;
	double v[] = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};
	/* rank 4.5 rounds half to even, as Python does: index 4. */
	assert_true(ctl_percentile(v, 10, 50) == 5);
	assert_true(ctl_percentile(v, 10, 90) == 9);
	assert_true(ctl_percentile(v, 10, 99) == 10);
	assert_true(ctl_percentile(v, 10, 0) == 1);
	assert_true(ctl_percentile(v, 0, 50) == 0);
	double one[] = {7};
	assert_true(ctl_percentile(one, 1, 99) == 7);

	CtlSamples s;
	ctl_samples_init(&s);
	for (int i = 1; i <= 100; i++)
		ctl_samples_add(&s, i);
	CtlSummary r = ctl_summarize(&s, 2.0);
	assert_int_equal(r.count, 100);
	assert_true(r.p50 <= r.p90 && r.p90 <= r.p99 && r.p99 <= r.max);
	assert_true(r.max == 100 && r.per_s == 50);
	ctl_samples_clear(&s);
}

static void test_pod_config_snake_and_camel(void **state)
{
	(void)state;
	const char *text =
		"{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\","
		"\"uid\":\"u1\",\"attempt\":2},\"log_directory\":\"/tmp/l\","
		"\"labels\":{\"a\":\"1\",\"b\":\"2\"},\"unknown_key\":true,"
		"\"linux\":{\"cgroupParent\":\"/x\",\"securityContext\":"
		"{\"namespace_options\":{\"pid\":\"CONTAINER\",\"ipc\":2},"
		"\"run_as_user\":{\"value\":\"1000\"}}},"
		"\"dns_config\":{\"servers\":[\"1.1.1.1\",\"8.8.8.8\"]}}";
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	g_autoptr(GError) error = NULL;
	Runtime__V1__PodSandboxConfig *c =
		(Runtime__V1__PodSandboxConfig *)ctl_pbjson_parse(
			&runtime__v1__pod_sandbox_config__descriptor, j,
			&error);
	json_decref(j);
	assert_non_null(c);
	assert_string_equal(c->metadata->name, "web");
	assert_string_equal(c->metadata->namespace_, "default");
	assert_int_equal(c->metadata->attempt, 2);
	assert_string_equal(c->log_directory, "/tmp/l");
	assert_int_equal(c->n_labels, 2);
	assert_string_equal(c->linux->cgroup_parent, "/x");
	Runtime__V1__LinuxSandboxSecurityContext *sc =
		c->linux->security_context;
	assert_int_equal(sc->namespace_options->pid,
			 RUNTIME__V1__NAMESPACE_MODE__CONTAINER);
	assert_int_equal(sc->namespace_options->ipc,
			 RUNTIME__V1__NAMESPACE_MODE__NODE);
	assert_int_equal(sc->run_as_user->value, 1000);
	assert_int_equal(c->dns_config->n_servers, 2);
	assert_string_equal(c->dns_config->servers[1], "8.8.8.8");

	/* It survives a round trip through the wire format. */
	size_t len = protobuf_c_message_get_packed_size(&c->base);
	g_autofree uint8_t *buf = g_malloc(len);
	protobuf_c_message_pack(&c->base, buf);
	ProtobufCMessage *back = protobuf_c_message_unpack(
		&runtime__v1__pod_sandbox_config__descriptor, NULL, len, buf);
	assert_non_null(back);
	protobuf_c_message_free_unpacked(back, NULL);
	protobuf_c_message_free_unpacked(&c->base, NULL);
}

static void test_config_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"metadata\":{\"name\":5}}",
		"{\"metadata\":{\"attempt\":\"x\"}}",
		"{\"labels\":[1]}",
		"{\"linux\":{\"security_context\":{\"namespace_options\":"
		"{\"pid\":\"NOPE\"}}}}",
		"[1]",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		g_autoptr(GError) error = NULL;
		ProtobufCMessage *m = ctl_pbjson_parse(
			&runtime__v1__pod_sandbox_config__descriptor, j,
			&error);
		json_decref(j);
		assert_null(m);
		assert_true(g_error_matches(error, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
	}
}

static void test_container_config(void **state)
{
	(void)state;
	json_t *j = json_loads(
		"{\"metadata\":{\"name\":\"busybox\"},\"image\":{\"image\":"
		"\"docker.io/"
		"busybox\"},\"command\":[\"top\"],\"args\":[\"-b\"],"
		"\"log_path\":\"busybox.0.log\",\"envs\":[{\"key\":\"A\","
		"\"value\":\"B\"}],\"linux\":{}}",
		0, NULL);
	g_autoptr(GError) error = NULL;
	Runtime__V1__ContainerConfig *c =
		(Runtime__V1__ContainerConfig *)ctl_pbjson_parse(
			&runtime__v1__container_config__descriptor, j, &error);
	json_decref(j);
	assert_non_null(c);
	assert_string_equal(c->image->image, "docker.io/busybox");
	assert_int_equal(c->n_command, 1);
	assert_string_equal(c->args[0], "-b");
	assert_int_equal(c->envs[0]->value.len, 1);
	assert_memory_equal(c->envs[0]->value.data, "B", 1);
	assert_non_null(c->linux);
	assert_null(c->linux->resources);
	protobuf_c_message_free_unpacked(&c->base, NULL);
}

static void test_dump_like_jsonpb(void **state)
{
	(void)state;
	Runtime__V1__PodSandbox p = RUNTIME__V1__POD_SANDBOX__INIT;
	Runtime__V1__PodSandbox__LabelsEntry e1 =
		RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
	Runtime__V1__PodSandbox__LabelsEntry e2 =
		RUNTIME__V1__POD_SANDBOX__LABELS_ENTRY__INIT;
	e1.key = "z";
	e1.value = "1";
	e2.key = "a";
	e2.value = "2";
	Runtime__V1__PodSandbox__LabelsEntry *labels[] = {&e1, &e2};
	p.id = "abc";
	p.state = RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
	p.created_at = 1234567890123456789LL;
	p.n_labels = 2;
	p.labels = labels;
	json_t *j = ctl_pbjson_dump(&p.base);
	char *s = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(s, "\"createdAt\":\"1234567890123456789\""));
	assert_non_null(strstr(s, "\"state\":\"SANDBOX_NOTREADY\""));
	assert_non_null(strstr(s, "\"metadata\":null"));
	assert_non_null(strstr(s, "\"labels\":{\"a\":\"2\",\"z\":\"1\"}"));
	assert_non_null(strstr(s, "\"annotations\":{}"));
	assert_non_null(strstr(s, "\"runtimeHandler\":\"\""));
	free(s);
	json_decref(j);
}

static void test_names(void **state)
{
	(void)state;
	g_autofree char *c = ctl_pbjson_camel("log_directory");
	assert_string_equal(c, "logDirectory");
	g_autofree char *c2 = ctl_pbjson_camel("id");
	assert_string_equal(c2, "id");
	assert_true(ctl_pbjson_key_matches("logDirectory", "log_directory"));
	assert_true(ctl_pbjson_key_matches("log_directory", "log_directory"));
	assert_true(ctl_pbjson_key_matches("LogDirectory", "log_directory"));
	assert_false(ctl_pbjson_key_matches("log", "log_directory"));
	assert_false(ctl_pbjson_key_matches("logDirectoryX", "log_directory"));
}

static void test_resolve(void **state)
{
	(void)state;
	const char *ids[] = {"abc123", "abd456", "ff00"};
	g_autoptr(GError) error = NULL;
	g_autofree char *a = ctl_resolve_prefix("abc", ids, 3, "pod", &error);
	assert_string_equal(a, "abc123");
	g_autofree char *f = ctl_resolve_prefix("ff00", ids, 3, "pod", &error);
	assert_string_equal(f, "ff00");
	assert_null(ctl_resolve_prefix("ab", ids, 3, "pod", &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	g_clear_error(&error);
	assert_null(ctl_resolve_prefix("x", ids, 3, "pod", &error));
	assert_true(g_error_matches(error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND));
	g_clear_error(&error);
	assert_null(ctl_resolve_prefix("", ids, 3, "pod", &error));
	g_clear_error(&error);
	/* An exact id wins even when it prefixes another. */
	const char *nested[] = {"ab", "abc"};
	g_autofree char *n = ctl_resolve_prefix("ab", nested, 2, "c", &error);
	assert_string_equal(n, "ab");
	assert_true(ctl_is_full_id("0123456789abcdef0123456789abcdef0123456789"
				   "abcdef0123456789abcdef"));
	assert_false(ctl_is_full_id("0123"));
}

static void test_cpu_parse(void **state)
{
	(void)state;
	guint64 busy = 0, total = 0;
	assert_true(bench_cpu_parse("cpu  10 1 5 100 4 2 3 1 0 0\n"
				    "cpu0 5 0 2 50 2 1 1 0 0 0\n",
				    &busy, &total));
	assert_int_equal(busy, 10 + 1 + 5 + 2 + 3 + 1);
	assert_int_equal(total, busy + 100 + 4);
	assert_false(bench_cpu_parse("cpu0 1 2 3 4 5 6 7 8\n", &busy, &total));
	assert_false(bench_cpu_parse("cpu  1 2 3\n", &busy, &total));
	assert_false(bench_cpu_parse("", &busy, &total));
}

static void test_smaps(void **state)
{
	(void)state;
	const char *text =
		"55d0c000-7ffd [rollup]\nRss:               23564 kB\n"
		"Pss:                9876 kB\nPss_Anon:  3000 kB\n";
	guint64 rss = 0, pss = 0;
	assert_true(bench_smaps_parse(text, &rss, &pss));
	assert_int_equal(rss, 23564);
	assert_int_equal(pss, 9876);
	assert_false(bench_smaps_parse("Rss: 1 kB\n", &rss, &pss));
}

static void test_human(void **state)
{
	(void)state;
	g_autofree char *a = ctl_human_size(0);
	assert_string_equal(a, "0B");
	g_autofree char *b = ctl_human_size(1234567);
	assert_string_equal(b, "1.23MB");
	g_autofree char *c = ctl_human_size(999);
	assert_string_equal(c, "999B");
	g_autofree char *z = ctl_rfc3339nano(0, TRUE);
	assert_string_equal(z, "0001-01-01T00:00:00Z");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_pod_config_snake_and_camel),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_container_config),
		cmocka_unit_test(test_dump_like_jsonpb),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_smaps),
		cmocka_unit_test(test_cpu_parse),
		cmocka_unit_test(test_human),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
