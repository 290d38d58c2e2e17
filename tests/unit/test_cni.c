/* Tests of network/cni*.c: config loading and watching, result parsing,
 * the cache, what plugins are handed (stdin, env, CNI_ARGS), and the
 * ADD/DEL/CHECK chains run against small /bin/sh fake plugins. */
#include "network/cni-private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define SANDBOX "0123456789abcdef0123456789abcdef"

/* An fd opened without O_CLOEXEC: plugins must not see it. */
static int leak_fd = -1;

typedef struct {
	char *root, *conf, *plugins, *cache, *log, *netns;
	const char *dirs[2];
} Fx;

static void put(const char *dir, const char *name, const char *text)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autoptr(GError) err = NULL;
	assert_true(g_file_set_contents(path, text, -1, &err));
}

static char *fx_read(Fx *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->log, name, NULL);
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return text;
}

static void fx_unlink(Fx *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->log, name, NULL);
	unlink(path);
}

static json_t *fx_read_json(Fx *f, const char *name)
{
	g_autofree char *text = fx_read(f, name);
	assert_non_null(text);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static int fx_setup(void **state)
{
	Fx *f = g_new0(Fx, 1);
	f->root = g_dir_make_tmp("berth-cni-XXXXXX", NULL);
	assert_non_null(f->root);
	f->conf = g_build_filename(f->root, "net.d", NULL);
	f->plugins = g_build_filename(f->root, "bin", NULL);
	f->cache = g_build_filename(f->root, "cache", NULL);
	f->log = g_build_filename(f->root, "log", NULL);
	f->netns = g_build_filename(f->root, "netns", NULL);
	mkdir(f->conf, 0755);
	mkdir(f->plugins, 0755);
	mkdir(f->log, 0755);
	put(f->root, "netns", "");
	f->dirs[0] = f->plugins;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	Fx *f = *state;
	assert_true(berth_rm_rf(f->root, NULL));
	g_free(f->root);
	g_free(f->conf);
	g_free(f->plugins);
	g_free(f->cache);
	g_free(f->log);
	g_free(f->netns);
	g_free(f);
	return 0;
}

/* A fake plugin: records its env, stdin and the call, then runs the body
 * for the command (shell; default: exit 0 printing nothing). */
static void make_plugin(Fx *f, const char *name, const char *add,
			const char *del, const char *check)
{
	g_autofree char *script = g_strdup_printf(
		"#!/bin/sh\n"
		"log='%s'\n"
		"env > \"$log/%s-$CNI_COMMAND.env\"\n"
		"cat > \"$log/%s-$CNI_COMMAND.stdin\"\n"
		"echo \"%s $CNI_COMMAND\" >> \"$log/calls\"\n"
		"[ -e /proc/$$/fd/%d ] && echo leaked > \"$log/%s.leak\"\n"
		"case \"$CNI_COMMAND\" in\n"
		"ADD) %s ;;\nDEL) %s ;;\nCHECK) %s ;;\n"
		"esac\nexit 0\n",
		f->log, name, name, name, leak_fd, name, add ? add : ":",
		del ? del : ":", check ? check : ":");
	g_autofree char *path = g_build_filename(f->plugins, name, NULL);
	put(f->plugins, name, script);
	assert_int_equal(chmod(path, 0755), 0);
}

static void make_noop(Fx *f, const char *name)
{
	g_autofree char *path = g_build_filename(f->plugins, name, NULL);
	put(f->plugins, name, "#!/bin/sh\nexit 0\n");
	assert_int_equal(chmod(path, 0755), 0);
}

static char *list_conf(const char *version, const char *name,
		       const char *plugins)
{
	return g_strdup_printf("{\"cniVersion\":\"%s\",\"name\":\"%s\","
			       "\"plugins\":[%s]}",
			       version, name, plugins);
}

static CniManager *fx_manager(Fx *f, const char *default_net, guint timeout)
{
	g_autoptr(GError) err = NULL;
	CniManager *m = cni_manager_new(f->conf, f->dirs, default_net, f->cache,
					timeout, &err);
	if (m == NULL)
		fail_msg("cni_manager_new: %s", err->message);
	return m;
}

static gboolean wait_ready(CniManager *m, gboolean want)
{
	for (int i = 0; i < 500; i++) {
		if (cni_manager_status(m, NULL, NULL) == want)
			return TRUE;
		g_usleep(10000);
	}
	return FALSE;
}

static CniPodArgs fx_pod(Fx *f)
{
	CniPodArgs p = {
		.sandbox_id = SANDBOX,
		.pod_name = "web",
		.pod_namespace = "default",
		.pod_uid = "7d2e-11",
		.netns_path = f->netns,
	};
	return p;
}

/* --- config loading ---------------------------------------------------- */

static void test_load_kinds_and_order(void **state)
{
	Fx *f = *state;
	make_noop(f, "bridge");
	make_noop(f, "portmap");
	g_autofree char *l1 = list_conf("1.0.0", "listnet",
					"{\"type\":\"bridge\"},"
					"{\"type\":\"portmap\"}");
	put(f->conf, "30-list.conflist", l1);
	put(f->conf, "20-single.conf",
	    "{\"cniVersion\":\"0.3.1\",\"name\":\"single\","
	    "\"type\":\"bridge\",\"bridge\":\"x0\"}");
	g_autofree char *l2 =
		list_conf("0.4.0", "jsonnet", "{\"type\":\"bridge\"}");
	put(f->conf, "40-list.json", l2);
	put(f->conf, "10-ignored.txt", l1);
	put(f->conf, ".10-hidden.conf", l1);

	g_autoptr(GPtrArray) nets = cni_networks_load_dir(f->conf, f->dirs);
	assert_int_equal(nets->len, 3);
	CniNetwork *n0 = nets->pdata[0], *n1 = nets->pdata[1],
		   *n2 = nets->pdata[2];
	assert_string_equal(n0->name, "single");
	assert_string_equal(n0->cni_version, "0.3.1");
	assert_int_equal(n0->n_plugins, 1);
	assert_string_equal(n0->plugin_types[0], "bridge");
	assert_non_null(strstr(n0->plugin_confs[0], "\"bridge\":\"x0\""));
	assert_string_equal(n1->name, "listnet");
	assert_int_equal(n1->n_plugins, 2);
	assert_string_equal(n1->plugin_types[1], "portmap");
	assert_string_equal(n2->name, "jsonnet");

	g_autoptr(CniManager) m = fx_manager(f, NULL, 5);
	g_autofree char *def = cni_manager_default_network(m);
	assert_string_equal(def, "single");
	g_autofree char *reason = NULL, *msg = NULL;
	assert_true(cni_manager_status(m, &reason, &msg));
	assert_null(reason);
	assert_null(msg);
}

static void test_default_network_by_name(void **state)
{
	Fx *f = *state;
	make_noop(f, "bridge");
	g_autofree char *a =
		list_conf("1.0.0", "alpha", "{\"type\":\"bridge\"}");
	g_autofree char *z =
		list_conf("1.0.0", "zeta", "{\"type\":\"bridge\"}");
	put(f->conf, "10-a.conflist", a);
	put(f->conf, "20-z.conflist", z);
	{
		g_autoptr(CniManager) m = fx_manager(f, "zeta", 5);
		g_autofree char *def = cni_manager_default_network(m);
		assert_string_equal(def, "zeta");
	}
	{
		g_autoptr(CniManager) m = fx_manager(f, "nope", 5);
		g_autofree char *reason = NULL, *msg = NULL;
		assert_false(cni_manager_status(m, &reason, &msg));
		assert_string_equal(reason, "NetworkPluginNotReady");
		assert_non_null(strstr(msg, "\"nope\" not found"));
		assert_null(cni_manager_default_network(m));
	}
}

static void expect_invalid(Fx *f, const char *file, const char *text,
			   const char *why)
{
	put(f->conf, file, text);
	g_autofree char *path = g_build_filename(f->conf, file, NULL);
	g_autoptr(GError) err = NULL;
	CniNetwork *net = cni_network_load_file(path, f->dirs, &err);
	if (net != NULL)
		fail_msg("%s loaded but should not", file);
	if (strstr(err->message, why) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", file, err->message, why);
}

static void test_invalid_files_skipped(void **state)
{
	Fx *f = *state;
	make_noop(f, "bridge");
	expect_invalid(f, "01.conflist",
		       "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"plugins\":[{\"bridge\":\"x\"}]}",
		       "has no \"type\"");
	expect_invalid(f, "02.conflist",
		       "{\"cniVersion\":\"0.2.0\",\"name\":\"n\","
		       "\"plugins\":[{\"type\":\"bridge\"}]}",
		       "\"0.2.0\" is not supported");
	expect_invalid(f, "03.conflist",
		       "{\"name\":\"n\",\"plugins\":[{\"type\":\"bridge\"}]}",
		       "no \"cniVersion\"");
	expect_invalid(f, "04.conflist",
		       "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"plugins\":[{\"type\":\"nosuch\"}]}",
		       "\"nosuch\" not found");
	expect_invalid(f, "05.conflist", "{\"cniVersion\":", "bad JSON");
	expect_invalid(f, "06.conf", "", "empty file");
	expect_invalid(f, "07.conflist",
		       "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"plugins\":[{\"type\":\"../bin/bridge\"}]}",
		       "not a plain name");
	expect_invalid(f, "08.conflist",
		       "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"type\":\"bridge\"}",
		       "no \"plugins\"");
	expect_invalid(f, "09.conflist",
		       "{\"cniVersion\":\"1.0.0\",\"name\":\"n\","
		       "\"plugins\":[]}",
		       "empty list");
	expect_invalid(f, "10.conf",
		       "{\"cniVersion\":\"1.0.0\",\"type\":\"bridge\"}",
		       "no \"name\"");
	expect_invalid(f, "11.json", "[1,2]", "not a JSON object");

	{
		g_autoptr(CniManager) m = fx_manager(f, NULL, 5);
		g_autofree char *reason = NULL, *msg = NULL;
		assert_false(cni_manager_status(m, &reason, &msg));
		g_autofree char *want = g_strdup_printf(
			"no valid CNI network config in %s", f->conf);
		assert_string_equal(msg, want);
	}
	g_autofree char *good =
		list_conf("1.1.0", "good", "{\"type\":\"bridge\"}");
	put(f->conf, "99-good.conflist", good);
	g_autoptr(GPtrArray) nets = cni_networks_load_dir(f->conf, f->dirs);
	assert_int_equal(nets->len, 1);
	assert_string_equal(((CniNetwork *)nets->pdata[0])->name, "good");
}

/* The shipped conflist is valid against the installed plugins. */
static void test_contrib_conflist(void **state)
{
	(void)state;
	g_autofree char *dir = g_path_get_dirname(__FILE__);
	g_autofree char *path = g_build_filename(
		dir, "..", "..", "contrib", "cni", "10-berth.conflist", NULL);
	const char *real[] = {"/usr/lib/cni", NULL};
	if (!g_file_test(path, G_FILE_TEST_EXISTS) ||
	    !g_file_test("/usr/lib/cni/bridge", G_FILE_TEST_IS_EXECUTABLE))
		skip();
	g_autoptr(GError) err = NULL;
	g_autoptr(CniNetwork) net = cni_network_load_file(path, real, &err);
	if (net == NULL)
		fail_msg("%s: %s", path, err->message);
	assert_string_equal(net->name, "berth");
	assert_int_equal(net->n_plugins, 3);
	assert_string_equal(net->plugin_types[0], "bridge");
	assert_non_null(strstr(net->plugin_confs[0], "10.247.0.0/16"));
}

static void test_versions(void **state)
{
	(void)state;
	assert_true(cni_version_supported("0.3.0"));
	assert_true(cni_version_supported("1.1.0"));
	assert_false(cni_version_supported("0.2.0"));
	assert_false(cni_version_supported("2.0.0"));
	assert_int_equal(cni_version_cmp("0.3.1", "0.4.0"), -1);
	assert_int_equal(cni_version_cmp("1.0.0", "0.4.0"), 1);
	assert_int_equal(cni_version_cmp("0.4.0", "0.4.0"), 0);
	assert_int_equal(cni_version_cmp("0.10.0", "0.4.0"), 1);
}

static void test_watch_add_remove(void **state)
{
	Fx *f = *state;
	make_noop(f, "bridge");
	g_autoptr(CniManager) m = fx_manager(f, NULL, 5);
	assert_false(cni_manager_status(m, NULL, NULL));

	/* Written in place (create + write + close). */
	g_autofree char *c =
		list_conf("1.0.0", "late", "{\"type\":\"bridge\"}");
	put(f->conf, "10-late.conflist", c);
	assert_true(wait_ready(m, TRUE));
	g_autofree char *def = cni_manager_default_network(m);
	assert_string_equal(def, "late");

	g_autofree char *path =
		g_build_filename(f->conf, "10-late.conflist", NULL);
	assert_int_equal(unlink(path), 0);
	assert_true(wait_ready(m, FALSE));

	/* A config whose plugin is installed only later. */
	g_autofree char *c2 =
		list_conf("1.0.0", "later", "{\"type\":\"tardy\"}");
	put(f->conf, "20-later.conflist", c2);
	g_usleep(300000);
	assert_false(cni_manager_status(m, NULL, NULL));
	make_noop(f, "tardy");
	assert_true(wait_ready(m, TRUE));
}

/* --- results ----------------------------------------------------------- */

static void test_result_031(void **state)
{
	(void)state;
	const char *j =
		"{\"cniVersion\":\"0.3.1\",\"interfaces\":["
		"{\"name\":\"berth0\",\"mac\":\"aa:bb:cc:dd:ee:01\"},"
		"{\"name\":\"veth1\",\"mac\":\"aa:bb:cc:dd:ee:02\"},"
		"{\"name\":\"eth0\",\"mac\":\"aa:bb:cc:dd:ee:03\","
		"\"sandbox\":\"/run/netns/x\"}],"
		"\"ips\":[{\"version\":\"6\",\"interface\":2,"
		"\"address\":\"fd00:247::5/64\",\"gateway\":\"fd00:247::1\"},"
		"{\"version\":\"4\",\"interface\":2,"
		"\"address\":\"10.247.0.5/16\",\"gateway\":\"10.247.0.1\"}],"
		"\"routes\":[{\"dst\":\"0.0.0.0/0\"}],\"dns\":{}}";
	g_autoptr(GError) err = NULL;
	g_autoptr(CniResult) r = cni_result_parse(j, "berth", &err);
	assert_non_null(r);
	assert_string_equal(r->network, "berth");
	assert_string_equal(r->cni_version, "0.3.1");
	assert_string_equal(r->raw_json, j);
	assert_int_equal(r->interfaces->len, 3);
	assert_string_equal(((CniInterface *)r->interfaces->pdata[2])->sandbox,
			    "/run/netns/x");
	assert_null(((CniInterface *)r->interfaces->pdata[0])->sandbox);
	assert_int_equal(r->ip_configs->len, 2);
	CniIpConfig *c = r->ip_configs->pdata[1];
	assert_int_equal(c->family, 4);
	assert_int_equal(c->interface, 2);
	assert_string_equal(c->address, "10.247.0.5/16");
	assert_string_equal(c->gateway, "10.247.0.1");
	assert_int_equal(r->ips->len, 2);
	assert_string_equal(r->ips->pdata[0], "10.247.0.5");
	assert_string_equal(r->ips->pdata[1], "fd00:247::5");
}

static void test_result_040_and_030(void **state)
{
	(void)state;
	g_autoptr(CniResult) r = cni_result_parse(
		"{\"cniVersion\":\"0.4.0\",\"ips\":[{\"version\":\"4\","
		"\"address\":\"10.1.2.3/24\"}]}",
		"n", NULL);
	assert_non_null(r);
	assert_int_equal(r->ips->len, 1);
	assert_string_equal(r->ips->pdata[0], "10.1.2.3");
	assert_null(((CniIpConfig *)r->ip_configs->pdata[0])->gateway);
	assert_int_equal(((CniIpConfig *)r->ip_configs->pdata[0])->interface,
			 -1);
	/* 0.3.0 as the spec text spelled it. */
	g_autoptr(CniResult) r0 = cni_result_parse(
		"{\"cniVersion\":\"0.3.0\",\"ip\":[{\"version\":\"4\","
		"\"address\":\"10.9.9.9/8\"}]}",
		"n", NULL);
	assert_non_null(r0);
	assert_string_equal(r0->ips->pdata[0], "10.9.9.9");
}

static void test_result_100(void **state)
{
	(void)state;
	/* No "version" per IP; host-side IP (interface 0, no sandbox) is
	 * not a pod IP; the first IPv4 goes first. */
	g_autoptr(CniResult) r = cni_result_parse(
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":["
		"{\"name\":\"br\"},{\"name\":\"eth0\",\"sandbox\":\"/x\"}],"
		"\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":0},"
		"{\"address\":\"2001:db8::0005/64\",\"interface\":1},"
		"{\"address\":\"10.247.3.4/16\",\"interface\":1},"
		"{\"address\":\"10.247.3.5/16\",\"interface\":1}]}",
		"n", NULL);
	assert_non_null(r);
	assert_int_equal(r->ips->len, 3);
	assert_string_equal(r->ips->pdata[0], "10.247.3.4");
	assert_string_equal(r->ips->pdata[1], "2001:db8::5");
	assert_string_equal(r->ips->pdata[2], "10.247.3.5");
	assert_int_equal(((CniIpConfig *)r->ip_configs->pdata[1])->family, 6);

	/* Only host-side addresses: fall back to all of them. */
	g_autoptr(CniResult) h = cni_result_parse(
		"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br\"}],"
		"\"ips\":[{\"address\":\"10.0.0.1/24\",\"interface\":0}]}",
		"n", NULL);
	assert_int_equal(h->ips->len, 1);
	assert_string_equal(h->ips->pdata[0], "10.0.0.1");
}

static void test_result_020_and_bad(void **state)
{
	(void)state;
	g_autoptr(CniResult) r = cni_result_parse(
		"{\"cniVersion\":\"0.2.0\",\"ip4\":{\"ip\":\"10.5.0.2/16\","
		"\"gateway\":\"10.5.0.1\"},\"ip6\":{\"ip\":\"fd00::2/64\"}}",
		"n", NULL);
	assert_non_null(r);
	assert_int_equal(r->ips->len, 2);
	assert_string_equal(r->ips->pdata[0], "10.5.0.2");
	assert_string_equal(r->ips->pdata[1], "fd00::2");

	g_autoptr(CniResult) empty =
		cni_result_parse("{\"cniVersion\":\"1.0.0\"}", "n", NULL);
	assert_non_null(empty);
	assert_int_equal(empty->ips->len, 0);

	g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL;
	assert_null(cni_result_parse("[]", "n", &e1));
	assert_null(cni_result_parse("nope", "n", &e2));
	assert_null(cni_result_parse(
		"{\"ips\":[{\"address\":\"10.0.0.300/8\"}]}", "n", &e3));
	assert_non_null(strstr(e3->message, "not an IP address"));
}

/* --- what plugins are handed ------------------------------------------ */

static void test_cni_args(void **state)
{
	(void)state;
	CniPodArgs p = {.sandbox_id = "abc",
			.pod_name = "web",
			.pod_namespace = "prod",
			.pod_uid = "u-1"};
	g_autofree char *a = cni_build_args(&p, NULL);
	assert_string_equal(a, "IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;"
			       "K8S_POD_NAME=web;"
			       "K8S_POD_INFRA_CONTAINER_ID=abc;"
			       "K8S_POD_UID=u-1");
	p.pod_uid = "";
	p.pod_name = NULL;
	g_autofree char *b = cni_build_args(&p, NULL);
	assert_string_equal(b, "IgnoreUnknown=1;K8S_POD_NAMESPACE=prod;"
			       "K8S_POD_INFRA_CONTAINER_ID=abc");
	p.pod_name = "a;b=c";
	g_autoptr(GError) err = NULL;
	assert_null(cni_build_args(&p, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
}

static void test_runtime_config(void **state)
{
	(void)state;
	CniPortMapping ports[] = {
		{.host_port = 8080, .container_port = 80, .protocol = "TCP"},
		{.host_port = 0, .container_port = 81, .protocol = "TCP"},
		{.host_port = 5353,
		 .container_port = 53,
		 .protocol = "UDP",
		 .host_ip = "127.0.0.1"},
		{.host_port = 9000, .container_port = 9000},
	};
	CniPodArgs p = {.sandbox_id = "abc",
			.ports = ports,
			.n_ports = 4,
			.ingress_bps = 1000000,
			.egress_bps = 2000,
			.egress_burst = 64000};

	g_autoptr(json_t) none = json_pack("{s:s}", "type", "bridge");
	assert_null(cni_build_runtime_config(none, &p));

	g_autoptr(json_t) pm =
		json_pack("{s:s, s:{s:b, s:b}}", "type", "portmap",
			  "capabilities", "portMappings", 1, "bandwidth", 0);
	g_autoptr(json_t) rc = cni_build_runtime_config(pm, &p);
	assert_non_null(rc);
	assert_null(json_object_get(rc, "bandwidth"));
	g_autoptr(json_t) want = json_loads(
		"{\"portMappings\":["
		"{\"hostPort\":8080,\"containerPort\":80,\"protocol\":\"tcp\"},"
		"{\"hostPort\":5353,\"containerPort\":53,\"protocol\":\"udp\","
		"\"hostIP\":\"127.0.0.1\"},"
		"{\"hostPort\":9000,\"containerPort\":9000,"
		"\"protocol\":\"tcp\"}]}",
		0, NULL);
	assert_true(json_equal(rc, want));

	g_autoptr(json_t) bw = json_pack("{s:s, s:{s:b}}", "type", "bandwidth",
					 "capabilities", "bandwidth", 1);
	g_autoptr(json_t) rcb = cni_build_runtime_config(bw, &p);
	g_autoptr(json_t) wantb =
		json_loads("{\"bandwidth\":{\"ingressRate\":1000000,"
			   "\"ingressBurst\":1000000,\"egressRate\":2000,"
			   "\"egressBurst\":64000}}",
			   0, NULL);
	assert_true(json_equal(rcb, wantb));

	/* Declared, but the pod has nothing to pass. */
	CniPodArgs bare = {.sandbox_id = "abc"};
	assert_null(cni_build_runtime_config(pm, &bare));
	assert_null(cni_build_runtime_config(bw, &bare));
}

static void test_build_stdin(void **state)
{
	(void)state;
	CniPortMapping ports[] = {
		{.host_port = 8080, .container_port = 80, .protocol = "SCTP"}};
	CniPodArgs p = {.sandbox_id = "abc", .ports = ports, .n_ports = 1};
	g_autoptr(json_t) prev = json_loads("{\"cniVersion\":\"1.0.0\","
					    "\"ips\":[]}",
					    0, NULL);
	g_autofree char *s = cni_build_stdin(
		"{\"type\":\"portmap\",\"name\":\"old\",\"cniVersion\":\"0.1\","
		"\"capabilities\":{\"portMappings\":true},"
		"\"runtimeConfig\":{\"keep\":1}}",
		"berth", "1.0.0", prev, &p, NULL);
	g_autoptr(json_t) j = json_loads(s, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")),
			    "berth");
	assert_string_equal(json_string_value(json_object_get(j, "cniVersion")),
			    "1.0.0");
	assert_true(json_equal(json_object_get(j, "prevResult"), prev));
	json_t *rc = json_object_get(j, "runtimeConfig");
	assert_int_equal(json_integer_value(json_object_get(rc, "keep")), 1);
	json_t *m0 = json_array_get(json_object_get(rc, "portMappings"), 0);
	assert_string_equal(json_string_value(json_object_get(m0, "protocol")),
			    "sctp");

	g_autofree char *s2 = cni_build_stdin("{\"type\":\"bridge\"}", "b",
					      "0.4.0", NULL, &p, NULL);
	g_autoptr(json_t) j2 = json_loads(s2, 0, NULL);
	assert_null(json_object_get(j2, "prevResult"));
	assert_null(json_object_get(j2, "runtimeConfig"));
}

static void test_validate_pod(void **state)
{
	(void)state;
	CniPodArgs ok = {
		.sandbox_id = "a1_b.c-d", .netns_path = "/x", .ifname = "eth1"};
	assert_true(cni_validate_pod(&ok, TRUE, NULL));
	CniPodArgs bad_id = {.sandbox_id = "-x", .netns_path = "/x"};
	assert_false(cni_validate_pod(&bad_id, TRUE, NULL));
	CniPodArgs slash = {.sandbox_id = "a/b", .netns_path = "/x"};
	assert_false(cni_validate_pod(&slash, TRUE, NULL));
	CniPodArgs ifn = {.sandbox_id = "a",
			  .netns_path = "/x",
			  .ifname = "averyveryverylongname"};
	assert_false(cni_validate_pod(&ifn, TRUE, NULL));
	CniPodArgs rel = {.sandbox_id = "a", .netns_path = "rel"};
	assert_false(cni_validate_pod(&rel, TRUE, NULL));
	assert_true(cni_validate_pod(&rel, FALSE, NULL));
}

/* --- cache --------------------------------------------------------------- */

static void test_cache_roundtrip(void **state)
{
	Fx *f = *state;
	make_noop(f, "bridge");
	g_autofree char *conf =
		list_conf("1.0.0", "berth", "{\"type\":\"bridge\"}");
	g_autoptr(json_t) list = json_loads(conf, 0, NULL);
	g_autoptr(CniNetwork) net =
		cni_network_from_json(list, "x", f->dirs, NULL);
	assert_non_null(net);
	CniPortMapping ports[] = {{.host_port = 8080,
				   .container_port = 80,
				   .protocol = "TCP",
				   .host_ip = "127.0.0.1"}};
	CniPodArgs p = fx_pod(f);
	p.ports = ports;
	p.n_ports = 1;
	p.ingress_bps = 5000;
	const char *res = "{\"cniVersion\":\"1.0.0\",\"ips\":[{\"address\":"
			  "\"10.247.0.9/16\"}]}";
	g_assert_true(berth_mkdir_p(f->cache, 0700, NULL));
	g_autoptr(GError) err = NULL;
	assert_true(cni_cache_write(f->cache, &p, "eth0", net, res, &err));

	g_autoptr(CniCacheEntry) e = cni_cache_read(f->cache, SANDBOX, &err);
	assert_non_null(e);
	assert_string_equal(e->network, "berth");
	assert_string_equal(e->ifname, "eth0");
	assert_string_equal(e->netns, f->netns);
	assert_string_equal(e->pod_name, "web");
	assert_string_equal(e->pod_uid, "7d2e-11");
	assert_int_equal(e->ports->len, 1);
	CniPortMapping *pm = &g_array_index(e->ports, CniPortMapping, 0);
	assert_int_equal(pm->host_port, 8080);
	assert_string_equal(pm->host_ip, "127.0.0.1");
	assert_int_equal(e->ingress_bps, 5000);
	g_autoptr(json_t) a = json_loads(e->config_json, 0, NULL);
	assert_true(json_equal(a, list));

	/* Merge: the caller's fields win, the cache fills the rest. */
	CniPodArgs in = {.sandbox_id = SANDBOX, .pod_name = "other"};
	CniPodArgs merged;
	cni_cache_entry_merge_pod(e, &in, &merged);
	assert_string_equal(merged.pod_name, "other");
	assert_string_equal(merged.pod_namespace, "default");
	assert_string_equal(merged.netns_path, f->netns);
	assert_int_equal(merged.n_ports, 1);

	g_autoptr(CniManager) m = fx_manager(f, NULL, 5);
	g_autoptr(CniResult) r = cni_cache_load(m, SANDBOX, &err);
	assert_non_null(r);
	assert_string_equal(r->ips->pdata[0], "10.247.0.9");
	assert_string_equal(r->ifname, "eth0");

	assert_true(cni_cache_remove(f->cache, SANDBOX, NULL));
	assert_true(cni_cache_remove(f->cache, SANDBOX, NULL));
	g_autoptr(GError) nf = NULL;
	assert_null(cni_cache_load(m, SANDBOX, &nf));
	assert_int_equal(nf->code, BERTH_ERROR_NOT_FOUND);

	put(f->cache, SANDBOX ".json", "{\"kind\":\"other\"}");
	g_autoptr(GError) bad = NULL;
	assert_null(cni_cache_load(m, SANDBOX, &bad));
	assert_int_equal(bad->code, BERTH_ERROR_INTERNAL);
}

/* --- invocation with fake plugins ------------------------------------- */

static const char result_one[] =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br\"},"
	"{\"name\":\"eth0\",\"sandbox\":\"/ns\"}],\"ips\":[{\"address\":"
	"\"10.247.0.2/16\",\"gateway\":\"10.247.0.1\",\"interface\":1}]}";
static const char result_two[] =
	"{\"cniVersion\":\"1.0.0\",\"interfaces\":[{\"name\":\"br\"},"
	"{\"name\":\"eth0\",\"sandbox\":\"/ns\"}],\"ips\":[{\"address\":"
	"\"10.247.0.3/16\",\"gateway\":\"10.247.0.1\",\"interface\":1}]}";

static char *echo(const char *json)
{
	return g_strdup_printf("echo '%s'", json);
}

static void two_plugin_net(Fx *f, const char *version, const char *second_add,
			   const char *second_del)
{
	g_autofree char *a1 = echo(result_one);
	g_autofree char *a2 =
		second_add ? g_strdup(second_add) : echo(result_two);
	make_plugin(f, "first", a1, NULL, NULL);
	make_plugin(f, "second", a2, second_del, NULL);
	g_autofree char *c = list_conf(
		version, "fake",
		"{\"type\":\"first\",\"bridge\":\"b0\"},"
		"{\"type\":\"second\",\"capabilities\":{\"portMappings\":true,"
		"\"bandwidth\":true}}");
	put(f->conf, "10-fake.conflist", c);
}

static gboolean env_has(const char *env, const char *line)
{
	g_autofree char *hay = g_strconcat("\n", env, NULL);
	g_autofree char *needle = g_strconcat("\n", line, "\n", NULL);
	return strstr(hay, needle) != NULL;
}

static void test_add_env_stdin_chain(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "1.0.0", NULL, NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPortMapping ports[] = {
		{.host_port = 8080, .container_port = 80, .protocol = "TCP"}};
	CniPodArgs p = fx_pod(f);
	p.ports = ports;
	p.n_ports = 1;
	g_setenv("BERTH_TEST_SECRET", "1", TRUE);

	g_autoptr(GError) err = NULL;
	g_autoptr(CniResult) r = cni_setup(m, &p, &err);
	if (r == NULL)
		fail_msg("setup: %s", err->message);
	assert_string_equal(r->network, "fake");
	assert_string_equal(r->ifname, "eth0");
	assert_int_equal(r->ips->len, 1);
	assert_string_equal(r->ips->pdata[0], "10.247.0.3");
	assert_string_equal(r->raw_json, result_two);

	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls, "first ADD\nsecond ADD\n");

	g_autofree char *env = fx_read(f, "first-ADD.env");
	assert_true(env_has(env, "CNI_COMMAND=ADD"));
	assert_true(env_has(env, "CNI_CONTAINERID=" SANDBOX));
	g_autofree char *ns = g_strconcat("CNI_NETNS=", f->netns, NULL);
	assert_true(env_has(env, ns));
	assert_true(env_has(env, "CNI_IFNAME=eth0"));
	assert_true(env_has(env, "CNI_ARGS=IgnoreUnknown=1;"
				 "K8S_POD_NAMESPACE=default;"
				 "K8S_POD_NAME=web;"
				 "K8S_POD_INFRA_CONTAINER_ID=" SANDBOX ";"
				 "K8S_POD_UID=7d2e-11"));
	g_autofree char *cp = g_strconcat("CNI_PATH=", f->plugins, NULL);
	assert_true(env_has(env, cp));
	assert_non_null(strstr(env, "\nPATH="));
	assert_null(strstr(env, "BERTH_TEST_SECRET"));
	g_autofree char *leak1 = fx_read(f, "first.leak");
	g_autofree char *leak2 = fx_read(f, "second.leak");
	assert_null(leak1);
	assert_null(leak2);

	g_autoptr(json_t) in1 = fx_read_json(f, "first-ADD.stdin");
	assert_null(json_object_get(in1, "prevResult"));
	assert_null(json_object_get(in1, "runtimeConfig"));
	assert_string_equal(json_string_value(json_object_get(in1, "name")),
			    "fake");
	assert_string_equal(
		json_string_value(json_object_get(in1, "cniVersion")), "1.0.0");
	assert_string_equal(json_string_value(json_object_get(in1, "bridge")),
			    "b0");

	g_autoptr(json_t) in2 = fx_read_json(f, "second-ADD.stdin");
	g_autoptr(json_t) one = json_loads(result_one, 0, NULL);
	assert_true(json_equal(json_object_get(in2, "prevResult"), one));
	json_t *rc = json_object_get(in2, "runtimeConfig");
	assert_non_null(json_object_get(rc, "portMappings"));
	assert_null(json_object_get(rc, "bandwidth")); /* none given */

	g_autofree char *cpath = cni_cache_path(f->cache, SANDBOX);
	assert_true(g_file_test(cpath, G_FILE_TEST_EXISTS));

	/* DEL with only the id: the rest comes from the cache. */
	fx_unlink(f, "calls");
	CniPodArgs d = {.sandbox_id = SANDBOX};
	assert_true(cni_teardown(m, &d, &err));
	g_autofree char *dcalls = fx_read(f, "calls");
	assert_string_equal(dcalls, "second DEL\nfirst DEL\n");
	g_autoptr(json_t) two = json_loads(result_two, 0, NULL);
	g_autoptr(json_t) d1 = fx_read_json(f, "first-DEL.stdin");
	g_autoptr(json_t) d2 = fx_read_json(f, "second-DEL.stdin");
	assert_true(json_equal(json_object_get(d1, "prevResult"), two));
	assert_true(json_equal(json_object_get(d2, "prevResult"), two));
	json_t *drc = json_object_get(d2, "runtimeConfig");
	assert_non_null(json_object_get(drc, "portMappings"));
	g_autofree char *denv = fx_read(f, "first-DEL.env");
	assert_true(env_has(denv, "CNI_ARGS=IgnoreUnknown=1;"
				  "K8S_POD_NAMESPACE=default;"
				  "K8S_POD_NAME=web;"
				  "K8S_POD_INFRA_CONTAINER_ID=" SANDBOX ";"
				  "K8S_POD_UID=7d2e-11"));
	assert_true(env_has(denv, ns));
	assert_false(g_file_test(cpath, G_FILE_TEST_EXISTS));
	g_unsetenv("BERTH_TEST_SECRET");
}

static void test_add_failure_rolls_back(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "1.0.0",
		       "echo '{\"cniVersion\":\"1.0.0\",\"code\":11,"
		       "\"msg\":\"boom\",\"details\":\"no more leases\"}'; "
		       "exit 1",
		       NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	assert_null(cni_setup(m, &p, &err));
	assert_int_equal(err->code, BERTH_ERROR_INTERNAL);
	assert_non_null(strstr(err->message, "CNI plugin second ADD failed: "
					     "boom: no more leases"));
	assert_non_null(strstr(err->message, SANDBOX));
	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls,
			    "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
	g_autoptr(json_t) one = json_loads(result_one, 0, NULL);
	g_autoptr(json_t) d1 = fx_read_json(f, "first-DEL.stdin");
	assert_true(json_equal(json_object_get(d1, "prevResult"), one));
	g_autofree char *cpath = cni_cache_path(f->cache, SANDBOX);
	assert_false(g_file_test(cpath, G_FILE_TEST_EXISTS));
}

static void test_exit_status_and_stderr(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "1.0.0", "echo 'something broke' >&2; exit 3", NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	assert_null(cni_setup(m, &p, &err));
	assert_non_null(strstr(err->message, "CNI plugin second ADD failed "
					     "(exit status 3): "
					     "something broke"));

	g_autofree char *m1 = cni_exec_error_message("x", "ADD", 9, "", "");
	assert_non_null(strstr(m1, "killed by signal 9"));
	g_autofree char *m2 = cni_exec_error_message(
		"x", "DEL", 1 << 8, "", "{\"code\":7,\"msg\":\"only msg\"}");
	assert_string_equal(m2, "CNI plugin x DEL failed: only msg");
}

static gboolean process_gone(pid_t pid)
{
	for (int i = 0; i < 200; i++) {
		g_autofree char *stat = NULL;
		g_autofree char *path = g_strdup_printf("/proc/%d/stat", pid);
		if (!g_file_get_contents(path, &stat, NULL, NULL))
			return TRUE;
		const char *paren = strrchr(stat, ')');
		if (paren && paren[1] == ' ' && paren[2] == 'Z')
			return TRUE;
		g_usleep(10000);
	}
	return FALSE;
}

static void test_timeout_kills(void **state)
{
	Fx *f = *state;
	g_autofree char *slow = g_strdup_printf(
		"sleep 30 & echo $! > '%s/sleep.pid'; wait", f->log);
	two_plugin_net(f, "1.0.0", slow, NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 1);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	gint64 t0 = g_get_monotonic_time();
	assert_null(cni_setup(m, &p, &err));
	gint64 ms = (g_get_monotonic_time() - t0) / 1000;
	assert_true(ms >= 900 && ms < 5000);
	assert_int_equal(err->code, BERTH_ERROR_DEADLINE_EXCEEDED);
	assert_non_null(strstr(err->message, "CNI plugin second ADD timed out "
					     "after 1 s and was killed"));
	g_autofree char *pidtext = fx_read(f, "sleep.pid");
	assert_non_null(pidtext);
	assert_true(process_gone((pid_t)atoi(pidtext)));
	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls,
			    "first ADD\nsecond ADD\nsecond DEL\nfirst DEL\n");
}

static void test_del_without_cache(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "1.0.0", NULL, NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	g_autofree char *gone = g_build_filename(f->root, "gone-ns", NULL);
	CniPodArgs p = fx_pod(f);
	p.netns_path = gone;
	g_autoptr(GError) err = NULL;
	assert_true(cni_teardown(m, &p, &err));
	assert_true(cni_teardown(m, &p, &err));
	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls, "second DEL\nfirst DEL\n"
				   "second DEL\nfirst DEL\n");
	g_autoptr(json_t) d1 = fx_read_json(f, "first-DEL.stdin");
	assert_null(json_object_get(d1, "prevResult"));
	g_autofree char *env = fx_read(f, "first-DEL.env");
	assert_true(env_has(env, "CNI_NETNS="));
	assert_true(env_has(env, "CNI_COMMAND=DEL"));

	/* No network at all: nothing to run, still fine. */
	g_autofree char *conf =
		g_build_filename(f->conf, "10-fake.conflist", NULL);
	unlink(conf);
	cni_manager_reload(m);
	assert_false(cni_manager_status(m, NULL, NULL));
	assert_true(cni_teardown(m, &p, &err));
	g_autoptr(GError) serr = NULL;
	assert_null(cni_setup(m, &p, &serr));
	assert_int_equal(serr->code, BERTH_ERROR_FAILED_PRECONDITION);
}

static void test_del_plugin_gone_and_failure(void **state)
{
	Fx *f = *state;
	g_autofree char *flag = g_build_filename(f->log, "fail-del", NULL);
	g_autofree char *del = g_strdup_printf(
		"if [ -e '%s' ]; then echo '{\"code\":999,\"msg\":\"busy\"}';"
		" exit 1; fi",
		flag);
	two_plugin_net(f, "1.0.0", NULL, del);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	g_autoptr(CniResult) r = cni_setup(m, &p, &err);
	assert_non_null(r);

	/* A failing DEL keeps the cache for the retry; the other plugin
	 * still ran. */
	put(f->log, "fail-del", "");
	assert_false(cni_teardown(m, &p, &err));
	assert_non_null(strstr(err->message, "CNI plugin second DEL failed: "
					     "busy"));
	g_clear_error(&err);
	g_autofree char *cpath = cni_cache_path(f->cache, SANDBOX);
	assert_true(g_file_test(cpath, G_FILE_TEST_EXISTS));
	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls, "first ADD\nsecond ADD\n"
				   "second DEL\nfirst DEL\n");

	/* The plugin binary vanished: skipped, DEL succeeds. */
	g_autofree char *bin = g_build_filename(f->plugins, "second", NULL);
	unlink(bin);
	assert_true(cni_teardown(m, &p, &err));
	assert_false(g_file_test(cpath, G_FILE_TEST_EXISTS));
}

static void test_check(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "0.4.0", NULL, NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	assert_false(cni_check(m, &p, &err));
	assert_int_equal(err->code, BERTH_ERROR_FAILED_PRECONDITION);
	g_clear_error(&err);

	g_autoptr(CniResult) r = cni_setup(m, &p, &err);
	assert_non_null(r);
	assert_true(cni_check(m, &p, &err));
	g_autofree char *calls = fx_read(f, "calls");
	assert_string_equal(calls, "first ADD\nsecond ADD\n"
				   "first CHECK\nsecond CHECK\n");
	g_autoptr(json_t) c1 = fx_read_json(f, "first-CHECK.stdin");
	g_autoptr(json_t) two = json_loads(result_two, 0, NULL);
	assert_true(json_equal(json_object_get(c1, "prevResult"), two));
	assert_true(cni_teardown(m, &p, &err));

	/* 0.3.1: CHECK does not exist; skipped. */
	g_autofree char *c = list_conf("0.3.1", "old", "{\"type\":\"first\"}");
	put(f->conf, "05-old.conflist", c);
	cni_manager_reload(m);
	g_autoptr(CniResult) r2 = cni_setup(m, &p, &err);
	assert_non_null(r2);
	assert_string_equal(r2->network, "old");
	fx_unlink(f, "calls");
	assert_true(cni_check(m, &p, &err));
	g_autofree char *none = fx_read(f, "calls");
	assert_null(none);
	assert_true(cni_teardown(m, &p, &err));
}

static void test_failing_check(void **state)
{
	Fx *f = *state;
	make_plugin(f, "only", "echo '{\"cniVersion\":\"1.0.0\"}'", NULL,
		    "echo '{\"code\":5,\"msg\":\"eth0 missing\"}'; exit 1");
	g_autofree char *c = list_conf("1.0.0", "n", "{\"type\":\"only\"}");
	put(f->conf, "10.conflist", c);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	CniPodArgs p = fx_pod(f);
	g_autoptr(GError) err = NULL;
	g_autoptr(CniResult) r = cni_setup(m, &p, &err);
	assert_non_null(r);
	assert_int_equal(r->ips->len, 0);
	assert_false(cni_check(m, &p, &err));
	assert_non_null(strstr(err->message, "CNI plugin only CHECK failed: "
					     "eth0 missing"));
	g_clear_error(&err);
	assert_true(cni_teardown(m, &p, &err));
}

static void test_cache_after_restart(void **state)
{
	Fx *f = *state;
	two_plugin_net(f, "1.0.0", NULL, NULL);
	{
		g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
		CniPodArgs p = fx_pod(f);
		g_autoptr(CniResult) r = cni_setup(m, &p, NULL);
		assert_non_null(r);
	}
	g_autoptr(CniManager) m2 = fx_manager(f, NULL, 10);
	fx_unlink(f, "calls");
	g_autoptr(GError) err = NULL;
	g_autoptr(CniResult) r = cni_cache_load(m2, SANDBOX, &err);
	assert_non_null(r);
	assert_string_equal(r->network, "fake");
	assert_string_equal(r->ips->pdata[0], "10.247.0.3");
	g_autofree char *calls = fx_read(f, "calls");
	assert_null(calls); /* nothing executed */
}

static void test_loopback(void **state)
{
	Fx *f = *state;
	make_plugin(f, "loopback", "echo '{\"cniVersion\":\"0.3.1\"}'", NULL,
		    NULL);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	g_autoptr(GError) err = NULL;
	assert_true(cni_setup_loopback(m, SANDBOX, f->netns, &err));
	g_autofree char *env = fx_read(f, "loopback-ADD.env");
	assert_true(env_has(env, "CNI_IFNAME=lo"));
	g_autoptr(json_t) in = fx_read_json(f, "loopback-ADD.stdin");
	assert_string_equal(json_string_value(json_object_get(in, "type")),
			    "loopback");
}

typedef struct {
	CniManager *m;
	Fx *f;
	int n;
	gboolean ok;
} Worker;

static gpointer worker(gpointer data)
{
	Worker *w = data;
	g_autofree char *id = g_strdup_printf("pod%02d", w->n);
	CniPodArgs p = fx_pod(w->f);
	p.sandbox_id = id;
	w->ok = TRUE;
	for (int i = 0; i < 5 && w->ok; i++) {
		g_autoptr(GError) err = NULL;
		g_autoptr(CniResult) r = cni_setup(w->m, &p, &err);
		if (r == NULL || !cni_teardown(w->m, &p, &err)) {
			fprintf(stderr, "worker %d: %s\n", w->n,
				err ? err->message : "?");
			w->ok = FALSE;
		}
		if (w->n == 0)
			cni_manager_reload(w->m);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	Fx *f = *state;
	g_autofree char *a = echo(result_one);
	g_autofree char *path = g_build_filename(f->plugins, "quiet", NULL);
	g_autofree char *script = g_strdup_printf("#!/bin/sh\ncat >/dev/null\n"
						  "[ \"$CNI_COMMAND\" = ADD ] "
						  "&& %s\nexit 0\n",
						  a);
	put(f->plugins, "quiet", script);
	assert_int_equal(chmod(path, 0755), 0);
	g_autofree char *c = list_conf("1.0.0", "q", "{\"type\":\"quiet\"}");
	put(f->conf, "10.conflist", c);
	g_autoptr(CniManager) m = fx_manager(f, NULL, 10);
	Worker w[8];
	GThread *t[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (Worker){.m = m, .f = f, .n = i};
		t[i] = g_thread_new("w", worker, &w[i]);
	}
	for (int i = 0; i < 8; i++)
		g_thread_join(t[i]);
	for (int i = 0; i < 8; i++)
		assert_true(w[i].ok);
	g_autoptr(GDir) d = g_dir_open(f->cache, 0, NULL);
	assert_null(g_dir_read_name(d));
}

int main(void)
{
	leak_fd = open("/dev/null", O_RDONLY);
	if (!g_getenv("BERTH_TEST_LOG"))
		berth_log_set_level(BERTH_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_load_kinds_and_order),
		T(test_default_network_by_name),
		T(test_invalid_files_skipped),
		T(test_contrib_conflist),
		T(test_versions),
		T(test_watch_add_remove),
		T(test_result_031),
		T(test_result_040_and_030),
		T(test_result_100),
		T(test_result_020_and_bad),
		T(test_cni_args),
		T(test_runtime_config),
		T(test_build_stdin),
		T(test_validate_pod),
		T(test_cache_roundtrip),
		T(test_add_env_stdin_chain),
		T(test_add_failure_rolls_back),
		T(test_exit_status_and_stderr),
		T(test_timeout_kills),
		T(test_del_without_cache),
		T(test_del_plugin_gone_and_failure),
		T(test_check),
		T(test_failing_check),
		T(test_cache_after_restart),
		T(test_loopback),
		T(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
