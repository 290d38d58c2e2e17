/* Config merging: defaults, documents over defaults, drop-in order, flags,
 * validation messages, and the TOML/JSON round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <string.h>

#include "config/config.h"
#include "util/error.h"

static BerthConfig *merged(const char *text, GError **error)
{
	BerthConfig *c = berth_config_new_default();
	if (!berth_config_merge_toml(c, text, strlen(text), "t.conf", error)) {
		berth_config_free(c);
		return NULL;
	}
	return c;
}

static void assert_fails(const char *text, const char *message)
{
	g_autoptr(GError) error = NULL;
	BerthConfig *c = merged(text, &error);
	assert_null(c);
	assert_non_null(error);
	if (strstr(error->message, message) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", error->message,
			 message);
	assert_int_equal(error->code, BERTH_ERROR_INVALID_ARGUMENT);
}

static void test_defaults(void **state)
{
	(void)state;
	g_autoptr(BerthConfig) c = berth_config_new_default();
	assert_string_equal(c->root, "/var/lib/berth");
	assert_string_equal(c->runroot, "/run/berth");
	assert_string_equal(c->listen, "/run/berth/berth.sock");
	assert_string_equal(c->cni_conf_dir, "/etc/cni/net.d");
	assert_string_equal(c->cni_plugin_dirs[0], "/usr/lib/cni");
	assert_string_equal(c->cni_plugin_dirs[1], "/opt/cni/bin");
	assert_null(c->cni_plugin_dirs[2]);
	assert_int_equal(c->grpc_max_recv_msg_size, 16 * 1024 * 1024);
	/* Left to the host until resolved. */
	assert_string_equal(c->cgroup_manager, "");
	assert_string_equal(c->default_cgroup_parent, "");
	assert_string_equal(c->conmon_cgroup, "system.slice");
	assert_non_null(berth_config_runtime(c, "crun"));
	assert_non_null(berth_config_runtime(c, "runc"));
	assert_string_equal(c->stream_address, "127.0.0.1");
	assert_int_equal(c->stream_port, 0);
	assert_string_equal(c->stream_tls_cert, "");
	assert_string_equal(c->stream_tls_key, "");
	assert_int_equal(c->stream_idle_timeout, 14400);
	assert_int_equal(c->stream_token_lifetime, 60);
	g_autoptr(GError) error = NULL;
	assert_true(berth_config_validate(c, &error));
}

/* The cgroup manager and default parent follow PID 1 unless set; a
 * parent must suit the manager. */
static void test_cgroup_resolve(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) fs = berth_config_new_default();
	berth_config_resolve(fs, FALSE);
	assert_string_equal(fs->cgroup_manager, "cgroupfs");
	assert_true(fs->cgroup_manager_auto);
	assert_string_equal(fs->default_cgroup_parent, "/berth");
	assert_true(berth_config_validate(fs, &error));

	g_autoptr(BerthConfig) sd = berth_config_new_default();
	berth_config_resolve(sd, TRUE);
	assert_string_equal(sd->cgroup_manager, "systemd");
	assert_string_equal(sd->default_cgroup_parent, "berth.slice");
	assert_true(berth_config_validate(sd, &error));

	/* Set: kept, whatever PID 1 is. */
	g_autoptr(BerthConfig) set = merged(
		"[berth.runtime]\ncgroup_manager = \"cgroupfs\"\n", &error);
	assert_non_null(set);
	berth_config_resolve(set, TRUE);
	assert_string_equal(set->cgroup_manager, "cgroupfs");
	assert_false(set->cgroup_manager_auto);
	assert_string_equal(set->default_cgroup_parent, "/berth");

	g_autoptr(BerthConfig) bad =
		merged("[berth.runtime]\ncgroup_manager = \"systemd\"\n"
		       "default_cgroup_parent = \"/kubepods\"\n",
		       &error);
	assert_non_null(bad);
	berth_config_resolve(bad, FALSE);
	assert_false(berth_config_validate(bad, &error));
	assert_non_null(strstr(error->message, "must be a slice"));
	g_clear_error(&error);
	g_autoptr(BerthConfig) bad2 = merged(
		"[berth.runtime]\ndefault_cgroup_parent = \"kubepods.slice\"\n"
		"conmon_cgroup = \"/x\"\n",
		&error);
	assert_non_null(bad2);
	berth_config_resolve(bad2, FALSE);
	assert_false(berth_config_validate(bad2, &error));
	assert_non_null(strstr(error->message, "absolute cgroup path"));
	g_clear_error(&error);
	berth_config_resolve(bad2, TRUE); /* already resolved: no change */
	assert_string_equal(bad2->cgroup_manager, "cgroupfs");
	g_free(bad2->cgroup_manager);
	bad2->cgroup_manager = g_strdup("systemd");
	assert_false(berth_config_validate(bad2, &error));
	assert_non_null(strstr(error->message, "conmon_cgroup \"/x\""));
}

static void test_streaming(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c = merged(
		"[berth.streaming]\naddress = \"::1\"\nport = 10010\n"
		"tls_cert = \"/etc/b/c.pem\"\ntls_key = \"/etc/b/k.pem\"\n"
		"idle_timeout = 0\ntoken_lifetime = 5\n",
		&error);
	assert_non_null(c);
	assert_string_equal(c->stream_address, "::1");
	assert_int_equal(c->stream_port, 10010);
	assert_string_equal(c->stream_tls_cert, "/etc/b/c.pem");
	assert_string_equal(c->stream_tls_key, "/etc/b/k.pem");
	assert_int_equal(c->stream_idle_timeout, 0);
	assert_int_equal(c->stream_token_lifetime, 5);
	assert_true(berth_config_validate(c, &error));
	g_autofree char *text = berth_config_to_toml(c);
	assert_non_null(strstr(text, "[berth.streaming]\n"));
	assert_non_null(strstr(text, "\nport = 10010\n"));

	assert_fails("[berth.streaming]\nport = 65536\n",
		     "berth.streaming.port must be between 0 and 65535");
	assert_fails("[berth.streaming]\ntoken_lifetime = 0\n",
		     "berth.streaming.token_lifetime must be between 1");
	assert_fails("[berth.streaming]\nidle_timeout = -1\n",
		     "berth.streaming.idle_timeout must be between 0");
	assert_fails("[berth.streaming]\ntls_cert = \"c.pem\"\n",
		     "berth.streaming.tls_cert must be an absolute path");
	assert_fails("[berth.streaming]\nbind = \"x\"\n",
		     "unknown key \"bind\" in [berth.streaming]");

	g_autoptr(BerthConfig) half =
		merged("[berth.streaming]\ntls_key = \"/k.pem\"\n", &error);
	assert_non_null(half);
	assert_false(berth_config_validate(half, &error));
	assert_non_null(strstr(error->message, "set both or neither"));
	g_clear_error(&error);
	g_autoptr(BerthConfig) host =
		merged("[berth.streaming]\naddress = \"localhost\"\n", &error);
	assert_non_null(host);
	assert_false(berth_config_validate(host, &error));
	assert_non_null(strstr(error->message, "must be an IP address, not "
					       "\"localhost\" (t.conf:2:11)"));
}

static void test_merge_overrides_and_keeps(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c = merged(
		"[berth]\nroot = \"/srv/b\"\n"
		"[berth.runtime]\npids_limit = 4096\n"
		"default_capabilities = [\"CHOWN\"]\n"
		"[berth.runtime.runtimes.kata]\nruntime_path = \"/opt/kata\"\n"
		"[berth.runtime.runtimes.runc]\nruntime_root = \"/run/r\"\n"
		"[berth.metrics]\nenable_metrics = true\n",
		&error);
	assert_non_null(c);
	assert_string_equal(c->root, "/srv/b");
	assert_string_equal(c->runroot, "/run/berth"); /* untouched */
	assert_int_equal(c->pids_limit, 4096);
	assert_int_equal(c->runtime_timeout, 120); /* the default */
	assert_int_equal(c->cni_timeout, 60);
	assert_string_equal(c->listen_group, "");
	assert_string_equal(c->default_capabilities[0], "CHOWN");
	assert_null(c->default_capabilities[1]);
	assert_true(c->enable_metrics);
	const BerthRuntimeHandler *k = berth_config_runtime(c, "kata");
	assert_non_null(k);
	assert_string_equal(k->runtime_path, "/opt/kata");
	g_autofree char *kroot = berth_config_runtime_root(c, k);
	assert_string_equal(kroot, "/run/berth/runtimes/kata");
	const BerthRuntimeHandler *r = berth_config_runtime(c, "runc");
	assert_string_equal(r->runtime_root, "/run/r");
	assert_true(r->runtime_path[0] == '/'); /* kept from the default */
	assert_string_equal(g_hash_table_lookup(c->origins, "berth.root"),
			    "t.conf:2:8");
}

static void test_dotted_and_inline_forms(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c =
		merged("berth.log_level = \"debug\"\n"
		       "berth.network = { cni_default_network = \"podnet\" }\n",
		       &error);
	assert_non_null(c);
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->cni_default_network, "podnet");
}

static void test_listen_url(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c =
		merged("[berth]\nlisten = \"unix:///tmp/b.sock\"\n", &error);
	assert_non_null(c);
	assert_string_equal(c->listen, "/tmp/b.sock");
}

static void test_errors(void **state)
{
	(void)state;
	assert_fails("[berth]\nnope = 1\n",
		     "t.conf:2:1: unknown key \"nope\" in [berth]");
	assert_fails("top = 1\n", "t.conf:1:1: unknown key \"top\"");
	assert_fails(
		"[berth.runtime]\nstop_timeout = -1\n",
		"t.conf:2:16: berth.runtime.stop_timeout must be between 0");
	assert_fails(
		"[berth.runtime]\nruntime_timeout = 0\n",
		"t.conf:2:19: berth.runtime.runtime_timeout must be between "
		"1 and 3600");
	assert_fails("[berth]\nroot = 5\n",
		     "t.conf:2:8: berth.root must be a string, not an integer");
	assert_fails("[berth.network]\ncni_plugin_dirs = [\"/a\", 3]\n",
		     "t.conf:2:26: berth.network.cni_plugin_dirs must be an "
		     "array of strings");
	assert_fails("[berth.network]\ncni_plugin_dirs = [\"rel\"]\n",
		     "must be an absolute path");
	assert_fails("[berth.runtime]\ncgroup_manager = \"magic\"\n",
		     "cgroup_manager must be one of cgroupfs, systemd");
	assert_fails("[berth.runtime.runtimes.Bad]\nruntime_path = \"/x\"\n",
		     "runtime handler name \"Bad\"");
	assert_fails("[berth.runtime.runtimes.ok]\nruntime_type = \"oci\"\n",
		     "t.conf:2:1: unknown key \"runtime_type\" in "
		     "[berth.runtime.runtimes.ok]");
	assert_fails("[berth]\nroot = \"/a\"\nroot = \"/b\"\n", "t.conf:3:1:");
	assert_fails("berth = 1\n", "berth must be a table");
}

static void test_validate(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c =
		merged("[berth.runtime]\ndefault_runtime = \"kata\"\n", &error);
	assert_non_null(c);
	assert_false(berth_config_validate(c, &error));
	assert_non_null(strstr(error->message, "default_runtime \"kata\" "
					       "(t.conf:2:19)"));
	g_clear_error(&error);
	g_autoptr(BerthConfig) d =
		merged("[berth.runtime.runtimes.kata]\nruntime_root = \"/x\"\n",
		       &error);
	assert_non_null(d);
	assert_false(berth_config_validate(d, &error));
	assert_non_null(strstr(error->message, "\"kata\" needs an absolute "
					       "runtime_path"));
}

static char *write_tmp(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static void test_dir_lexical_order(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-conf-XXXXXX", NULL);
	g_autofree char *a =
		write_tmp(dir, "20-b.conf", "[berth]\nlog_level = \"warn\"\n");
	g_autofree char *b =
		write_tmp(dir, "10-a.conf",
			  "[berth]\nlog_level = \"debug\"\nroot = \"/a\"\n");
	g_autofree char *x = write_tmp(dir, "99-z.conf.bak", "garbage =");
	g_autofree char *h = write_tmp(dir, ".hidden.conf", "garbage =");
	g_autoptr(BerthConfig) c = berth_config_new_default();
	g_autoptr(GError) error = NULL;
	assert_true(berth_config_merge_dir(c, dir, &error));
	assert_string_equal(c->log_level, "warn");
	assert_string_equal(c->root, "/a");
	/* A missing dir is no error. */
	assert_true(berth_config_merge_dir(c, "/nonexistent/berth.d", &error));
	g_unlink(a);
	g_unlink(b);
	g_unlink(x);
	g_unlink(h);
	g_rmdir(dir);
}

static void test_toml_round_trip(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c =
		merged("[berth.image]\ninsecure_registries = [\"a\\\"b\", "
		       "\"\\u00e9\"]\n"
		       "[berth.runtime.runtimes.x-1]\nruntime_path = \"/p\"\n",
		       &error);
	assert_non_null(c);
	g_autofree char *text = berth_config_to_toml(c);
	g_autoptr(BerthConfig) d = berth_config_new_default();
	assert_true(berth_config_merge_toml(d, text, strlen(text), "printed",
					    &error));
	g_autofree char *again = berth_config_to_toml(d);
	assert_string_equal(text, again);
	assert_string_equal(d->insecure_registries[0], "a\"b");
	assert_string_equal(d->insecure_registries[1], "\xc3\xa9");
}

static void test_json(void **state)
{
	(void)state;
	g_autoptr(BerthConfig) c = berth_config_new_default();
	g_autofree char *text = berth_config_to_json(c);
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "berth"), "root")),
			    "/var/lib/berth");
	json_t *rt = json_object_get(json_object_get(j, "berth.runtime"),
				     "runtimes");
	assert_non_null(json_object_get(rt, "runc"));
	json_decref(j);
}

static void test_pinned_images(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) d = berth_config_new_default();
	assert_null(d->pinned_images[0]);
	g_autofree char *printed = berth_config_to_toml(d);
	assert_non_null(strstr(printed, "\npinned_images = []\n"));
	g_autoptr(BerthConfig) c =
		merged("[berth.image]\npinned_images = "
		       "[\"registry.k8s.io/pause:3.10\", \"quay.io/ns/*\"]\n",
		       &error);
	assert_non_null(c);
	assert_string_equal(c->pinned_images[0], "registry.k8s.io/pause:3.10");
	assert_string_equal(c->pinned_images[1], "quay.io/ns/*");
	assert_null(c->pinned_images[2]);
	assert_true(berth_config_validate(c, &error));
	const char *bad[] = {"*", "*pause", "quay.io/*/app"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(BerthConfig) b = berth_config_new_default();
		g_strfreev(b->pinned_images);
		const char *one[] = {bad[i], NULL};
		b->pinned_images = g_strdupv((char **)one);
		g_autoptr(GError) e = NULL;
		assert_false(berth_config_validate(b, &e));
		assert_int_equal(e->code, BERTH_ERROR_INVALID_ARGUMENT);
		assert_non_null(strstr(e->message, "pinned_images entry"));
	}
}

static void test_cdi_spec_dirs(void **state)
{
	(void)state;
	g_autoptr(BerthConfig) d = berth_config_new_default();
	assert_string_equal(d->cdi_spec_dirs[0], "/etc/cdi");
	assert_string_equal(d->cdi_spec_dirs[1], "/var/run/cdi");
	assert_null(d->cdi_spec_dirs[2]);
	g_autofree char *printed = berth_config_to_toml(d);
	assert_non_null(strstr(printed, "\ncdi_spec_dirs = [\"/etc/cdi\", "
					"\"/var/run/cdi\"]\n"));

	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c = merged("[berth.runtime]\ncdi_spec_dirs = "
					  "[\"/opt/cdi\", \"/run/cdi\"]\n",
					  &error);
	assert_non_null(c);
	assert_string_equal(c->cdi_spec_dirs[0], "/opt/cdi");
	assert_string_equal(c->cdi_spec_dirs[1], "/run/cdi");
	assert_null(c->cdi_spec_dirs[2]);
	assert_string_equal(
		g_hash_table_lookup(c->origins, "berth.runtime.cdi_spec_dirs"),
		"t.conf:2:17");
	g_autoptr(BerthConfig) none =
		merged("[berth.runtime]\ncdi_spec_dirs = []\n", &error);
	assert_non_null(none);
	assert_null(none->cdi_spec_dirs[0]);

	assert_fails("[berth.runtime]\ncdi_spec_dirs = [\"cdi\"]\n",
		     "berth.runtime.cdi_spec_dirs must be an absolute path, "
		     "not \"cdi\"");
	assert_fails("[berth.runtime]\ncdi_spec_dirs = \"/etc/cdi\"\n",
		     "berth.runtime.cdi_spec_dirs must be an array of strings");
	assert_fails("[berth.runtime]\ncdi_spec_dirs = [\"\"]\n",
		     "berth.runtime.cdi_spec_dirs has an empty entry");

	char *argv_in[] = {"berthd",
			   "--config",
			   "/dev/null",
			   "--config-dir",
			   "/nonexistent/berth.d",
			   "--cdi-spec-dir",
			   "/a,/b",
			   "--cdi-spec-dir=/c",
			   NULL};
	int argc = G_N_ELEMENTS(argv_in) - 1;
	char **argv = g_memdup2(argv_in, sizeof argv_in);
	gboolean exit_now = FALSE;
	g_autoptr(BerthConfig) f =
		berth_config_from_args(&argc, &argv, &exit_now, &error);
	assert_non_null(f);
	assert_string_equal(f->cdi_spec_dirs[0], "/a");
	assert_string_equal(f->cdi_spec_dirs[1], "/b");
	assert_string_equal(f->cdi_spec_dirs[2], "/c");
	assert_null(f->cdi_spec_dirs[3]);
	assert_string_equal(
		g_hash_table_lookup(f->origins, "berth.runtime.cdi_spec_dirs"),
		"--cdi-spec-dir");
	g_free(argv);
}

static void test_args(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-args-XXXXXX", NULL);
	g_autofree char *main_conf =
		write_tmp(dir, "main.conf",
			  "[berth]\nlog_level = \"error\"\n[berth.network]\n"
			  "cni_plugin_dirs = [\"/f\"]\n");
	g_autofree char *dropins = g_build_filename(dir, "d", NULL);
	char *argv_in[] = {"berthd",
			   "--config",
			   main_conf,
			   "--config-dir",
			   dropins,
			   "--log-level=debug",
			   "--cni-plugin-dir",
			   "/x,/y",
			   "--cni-plugin-dir",
			   "/z",
			   "--enable-metrics",
			   "--pids-limit",
			   "77",
			   "--stream-port=10350",
			   "--stream-address",
			   "0.0.0.0",
			   "config",
			   NULL};
	int argc = G_N_ELEMENTS(argv_in) - 1;
	char **argv = g_memdup2(argv_in, sizeof argv_in);
	gboolean exit_now = FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c =
		berth_config_from_args(&argc, &argv, &exit_now, &error);
	assert_non_null(c);
	assert_false(exit_now);
	assert_int_equal(argc, 2);
	assert_string_equal(argv[1], "config");
	assert_string_equal(c->log_level, "debug");
	assert_string_equal(c->cni_plugin_dirs[0], "/x");
	assert_string_equal(c->cni_plugin_dirs[1], "/y");
	assert_string_equal(c->cni_plugin_dirs[2], "/z");
	assert_null(c->cni_plugin_dirs[3]);
	assert_true(c->enable_metrics);
	assert_int_equal(c->pids_limit, 77);
	assert_int_equal(c->stream_port, 10350);
	assert_string_equal(c->stream_address, "0.0.0.0");
	assert_string_equal(g_hash_table_lookup(c->origins, "berth.log_level"),
			    "--log-level");
	g_free(argv);
	g_unlink(main_conf);
	g_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_merge_overrides_and_keeps),
		cmocka_unit_test(test_dotted_and_inline_forms),
		cmocka_unit_test(test_listen_url),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_streaming),
		cmocka_unit_test(test_cgroup_resolve),
		cmocka_unit_test(test_dir_lexical_order),
		cmocka_unit_test(test_toml_round_trip),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_cdi_spec_dirs),
		cmocka_unit_test(test_pinned_images),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
