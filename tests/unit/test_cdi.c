/* Tests of sandbox/cdi*.c: names, JSON and YAML spec files of versions
 * 0.3.0 to 1.1.0, bad specs and their messages, dir priority, conflicts,
 * unknown devices, broken files, re-reading, the device names of a
 * container config, applying edits to an OCI spec, and the cost of a
 * resolve when nothing changed. Spec files go into a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sandbox/spec/cdi-private.h"
#include "util/kv.h"
#include "util/error.h"
#include "util/fs.h"

typedef struct {
	char *root;
	char *etc; /* lower priority */
	char *run; /* higher priority */
	char *dirs[3];
} Fx;

static int setup(void **state)
{
	Fx *f = g_new0(Fx, 1);
	f->root = g_dir_make_tmp("berth-cdi-XXXXXX", NULL);
	f->etc = g_build_filename(f->root, "etc", NULL);
	f->run = g_build_filename(f->root, "run", NULL);
	g_mkdir(f->etc, 0755);
	g_mkdir(f->run, 0755);
	f->dirs[0] = f->etc;
	f->dirs[1] = f->run;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fx *f = *state;
	berth_rm_rf(f->root, NULL);
	g_free(f->root);
	g_free(f->etc);
	g_free(f->run);
	g_free(f);
	return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
	g_autofree char *p = g_build_filename(dir, name, NULL);
	assert_true(g_file_set_contents(p, text, -1, NULL));
}

static void assert_error(const GError *error, int code, const char *part)
{
	assert_non_null(error);
	if (strstr(error->message, part) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", error->message,
			 part);
	if (error->code != code)
		fail_msg("\"%s\": code %d, not %d", error->message, error->code,
			 code);
}

static CdiRegistry *registry(Fx *f)
{
	return cdi_registry_new((const char *const *)f->dirs);
}

/* Resolve one name and apply it to an empty spec. */
static json_t *applied(CdiRegistry *r, const char *name)
{
	const char *names[] = {name, NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	if (!cdi_resolve(r, names, &e, &error))
		fail_msg("%s", error->message);
	json_t *spec = json_object();
	assert_true(cdi_apply(e, spec, &error));
	return spec;
}

static const char *env0(json_t *spec)
{
	return json_string_value(json_array_get(
		json_object_get(json_object_get(spec, "process"), "env"), 0));
}

/* --- names ---------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	g_autofree char *v = NULL, *c = NULL, *d = NULL;
	assert_true(cdi_parse_name("vendor.com/class=dev", &v, &c, &d, NULL));
	assert_string_equal(v, "vendor.com");
	assert_string_equal(c, "class");
	assert_string_equal(d, "dev");
	const char *good[] = {"nvidia.com/gpu=0", "a/b=c:d.e_f-1",
			      "x.y-z_1/C.l_a-ss=all"};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(cdi_parse_name(good[i], NULL, NULL, NULL, NULL));
	struct {
		const char *name, *part;
	} bad[] = {
		{"foo", "is not a fully qualified name"},
		{"vendor.com/class", "is not a fully qualified name"},
		{"/dev/null", "is not a fully qualified name"},
		{"vendor.com/class=", "is not a fully qualified name"},
		{"vendor.com=dev", "is not a fully qualified name"},
		{"1vendor/class=x", "the vendor must start with a letter"},
		{"vendor/cla$s=x", "the class may hold only"},
		{"v/c/d=x", "the class may hold only"},
		{"v/c-=x", "the class must end with a letter or digit"},
		{"v/c=-x", "the device name must start with a letter or digit"},
		{"v/c=x y", "the device name may hold only"},
		{"v/c=x:", "the device name must end with a letter or digit"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) error = NULL;
		assert_false(
			cdi_parse_name(bad[i].name, NULL, NULL, NULL, &error));
		assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, bad[i].part);
		assert_non_null(strstr(error->message, bad[i].name));
	}
}

/* --- parsing -------------------------------------------------------------- */

static CdiSpec *parse(const char *text, gboolean yaml)
{
	g_autoptr(GError) error = NULL;
	CdiSpec *s =
		cdi_spec_parse(text, strlen(text),
			       yaml ? "/t/s.yaml" : "/t/s.json", yaml, &error);
	if (s == NULL)
		fail_msg("%s", error->message);
	return s;
}

static void test_parse_json_versions(void **state)
{
	(void)state;
	const char *docs[] = {
		/* 0.3.0: env, device nodes, mounts, hooks */
		"{\"cdiVersion\": \"0.3.0\", \"kind\": \"vendor.com/gpu\","
		" \"devices\": [{\"name\": \"gpu0\", \"containerEdits\": {"
		"  \"env\": [\"A=1\"], \"deviceNodes\": [{\"path\": "
		"  \"/dev/gpu0\", \"type\": \"c\", \"major\": 240, \"minor\": "
		"0,"
		"  \"permissions\": \"rw\", \"fileMode\": 432, \"uid\": 0,"
		"  \"gid\": 44}], \"mounts\": [{\"hostPath\": \"/usr/lib/x\","
		"  \"containerPath\": \"/usr/lib/x\", \"options\": [\"ro\","
		"  \"bind\"]}], \"hooks\": [{\"hookName\": \"createContainer\","
		"  \"path\": \"/bin/hook\", \"args\": [\"hook\", \"-x\"],"
		"  \"env\": [\"H=1\"], \"timeout\": 5}]}}]}",
		/* 0.4.0: a mount type */
		"{\"cdiVersion\": \"0.4.0\", \"kind\": \"vendor.com/gpu\","
		" \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
		" \"mounts\": [{\"hostPath\": \"tmpfs\", \"containerPath\":"
		" \"/t\", \"type\": \"tmpfs\"}]}}]}",
		/* 0.5.0: hostPath, a name starting with a digit */
		"{\"cdiVersion\": \"0.5.0\", \"kind\": \"vendor.com/gpu\","
		" \"devices\": [{\"name\": \"0\", \"containerEdits\": {"
		" \"deviceNodes\": [{\"path\": \"/dev/x\", \"hostPath\":"
		" \"/dev/null\"}]}}]}",
		/* 0.6.0: annotations, a dot in the class */
		"{\"cdiVersion\": \"0.6.0\", \"kind\": \"vendor.com/gpu.v2\","
		" \"annotations\": {\"vendor.com/note\": \"x\"},"
		" \"devices\": [{\"name\": \"a\", \"annotations\": {\"k\": "
		" \"v\"}, \"containerEdits\": {\"env\": [\"A=\"]}}]}",
		/* 0.7.0: intelRdt with enableCMT/MBM, additionalGids */
		"{\"cdiVersion\": \"0.7.0\", \"kind\": \"vendor.com/gpu\","
		" \"containerEdits\": {\"additionalGids\": [44]},"
		" \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
		" \"intelRdt\": {\"closID\": \"c1\", \"l3CacheSchema\": "
		" \"L3:0=f\", \"memBwSchema\": \"MB:0=50\", \"enableCMT\": "
		"true,"
		" \"enableMBM\": false}}}]}",
		"{\"cdiVersion\": \"0.8.0\", \"kind\": \"vendor.com/gpu\","
		" \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
		" \"additionalGids\": [5]}}]}",
		"{\"cdiVersion\": \"v1.0.0\", \"kind\": \"vendor.com/gpu\","
		" \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
		" \"env\": [\"A=1\"]}}]}",
		/* 1.1.0: netDevices, schemata, enableMonitoring */
		"{\"cdiVersion\": \"1.1.0\", \"kind\": \"vendor.com/nic\","
		" \"devices\": [{\"name\": \"a\", \"containerEdits\": {"
		" \"netDevices\": [{\"hostInterfaceName\": \"eth1\", \"name\":"
		" \"net1\"}], \"intelRdt\": {\"schemata\": [\"L3:0=f\"],"
		" \"enableMonitoring\": true}}}]}",
	};
	const char *versions[] = {"0.3.0", "0.4.0", "0.5.0", "0.6.0",
				  "0.7.0", "0.8.0", "1.0.0", "1.1.0"};
	for (gsize i = 0; i < G_N_ELEMENTS(docs); i++) {
		g_autoptr(CdiSpec) s = parse(docs[i], FALSE);
		assert_string_equal(cdi_spec_version(s), versions[i]);
		assert_non_null(cdi_spec_devices(s)[0]);
	}
	g_autoptr(CdiSpec) s = parse(docs[0], FALSE);
	assert_string_equal(cdi_spec_kind(s), "vendor.com/gpu");
	assert_string_equal(cdi_spec_devices(s)[0], "gpu0");
	assert_null(cdi_spec_devices(s)[1]);
}

static const char yaml_spec[] =
	"# a hand-written YAML spec\n"
	"cdiVersion: 0.6.0\n"
	"kind: vendor.com/gpu\n"
	"annotations:\n"
	"  vendor.com/driver: \"550\"\n"
	"containerEdits:\n"
	"  env: &common\n"
	"    - GPU_DRIVER=550\n"
	"  hooks:\n"
	"    - hookName: createContainer\n"
	"      path: /usr/bin/gpu-hook\n"
	"      args: [gpu-hook, update-ldcache]\n"
	"devices:\n"
	"  - name: 0\n"
	"    containerEdits:\n"
	"      env: *common\n"
	"      deviceNodes:\n"
	"        - path: /dev/gpu0\n"
	"          hostPath: /dev/null\n"
	"          fileMode: 0666\n"
	"          permissions: rw\n"
	"      mounts:\n"
	"        - hostPath: /usr/lib/libgpu.so.550\n"
	"          containerPath: /usr/lib/libgpu.so.550\n"
	"          options: [ro, nosuid, nodev, bind]\n"
	"  - name: \"1\"\n"
	"    annotations: {vendor.com/uuid: 'GPU-1'}\n"
	"    containerEdits:\n"
	"      env:\n"
	"        - GPU=1\n"
	"      intelRdt:\n"
	"      deviceNodes:\n"
	"        - {path: /dev/gpu1, type: c, major: 0x10, minor: 2}\n"
	"      mounts:\n"
	"        - {hostPath: /a, containerPath: /a, options: [! 12, 1.50]}\n";

static void test_parse_yaml(void **state)
{
	(void)state;
	g_autoptr(CdiSpec) s = parse(yaml_spec, TRUE);
	assert_string_equal(cdi_spec_kind(s), "vendor.com/gpu");
	assert_string_equal(cdi_spec_version(s), "0.6.0");
	assert_string_equal(cdi_spec_devices(s)[0], "0");
	assert_string_equal(cdi_spec_devices(s)[1], "1");
	json_t *d0 = g_hash_table_lookup(s->devices, "0");
	json_t *node = json_array_get(json_object_get(d0, "deviceNodes"), 0);
	assert_int_equal(json_integer_value(json_object_get(node, "fileMode")),
			 0666);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(d0, "env"), 0)),
			    "GPU_DRIVER=550");
	json_t *d1 = g_hash_table_lookup(s->devices, "1");
	assert_null(json_object_get(d1, "intelRdt")); /* null: absent */
	node = json_array_get(json_object_get(d1, "deviceNodes"), 0);
	assert_int_equal(json_integer_value(json_object_get(node, "major")),
			 16);
	json_t *m = json_array_get(json_object_get(d1, "mounts"), 0);
	json_t *want = json_pack("[s, s]", "12", "1.50"); /* as written */
	assert_true(json_equal(json_object_get(m, "options"), want));
	json_decref(want);
	json_t *hook = json_array_get(json_object_get(s->edits, "hooks"), 0);
	assert_string_equal(json_string_value(json_array_get(
				    json_object_get(hook, "args"), 1)),
			    "update-ldcache");

	/* The same spec as JSON reads the same. */
	g_autofree char *json = json_dumps(s->root, JSON_SORT_KEYS);
	g_autoptr(CdiSpec) j = parse(json, FALSE);
	assert_true(json_equal(j->root, s->root));
}

typedef struct {
	gboolean yaml;
	const char *text;
	const char *part;
} BadSpec;

#define DEV(edits)                                                             \
	"{\"cdiVersion\": \"0.7.0\", \"kind\": \"v.com/c\", \"devices\": "     \
	"[{\"name\": \"a\", \"containerEdits\": " edits "}]}"
#define DEVV(version, edits)                                                   \
	"{\"cdiVersion\": \"" version                                          \
	"\", \"kind\": \"v.com/c\", \"devices\": "                             \
	"[{\"name\": \"a\", \"containerEdits\": " edits "}]}"

static const BadSpec bad_specs[] = {
	{FALSE, "{\"cdiVersion\": ", "bad.json:1:15: JSON: "},
	{TRUE, "cdiVersion: 0.3.0\nkind: [\n", "bad.yaml:3:1: YAML: "},
	{TRUE, "", "bad.yaml:1:1: YAML: the file holds no document"},
	{TRUE, "a: 1\n---\nb: 2\n", "YAML: more than one document"},
	{TRUE, "a: 1\na: 2\n", "bad.yaml:2:1: YAML: duplicate key \"a\""},
	{TRUE, "- 1\n", "bad.yaml: the document is not a mapping"},
	{FALSE, "{\"kind\": \"v.com/c\", \"devices\": []}",
	 "bad.json: cdiVersion is required"},
	{FALSE, "{\"cdiVersion\": \"0.9.0\", \"kind\": \"v.com/c\"}",
	 "bad.json: cdiVersion: \"0.9.0\" is not a CDI version"},
	{FALSE, "{\"cdiVersion\": \"0.3.0\", \"kind\": \"foo\"}",
	 "bad.json: kind: \"foo\" is not vendor/class"},
	{FALSE, "{\"cdiVersion\": \"0.3.0\", \"kind\": \"v.com/c_\"}",
	 "bad.json: kind: the class of \"v.com/c_\" must end"},
	{FALSE,
	 "{\"cdiVersion\": \"0.3.0\", \"kind\": \"v.com/c\", \"devices\""
	 ": [], \"device\": 1}",
	 "bad.json: unknown field \"device\""},
	{FALSE,
	 "{\"cdiVersion\": \"0.3.0\", \"kind\": \"v.com/c\", "
	 "\"devices\": []}",
	 "bad.json: devices: the spec defines no device"},
	{FALSE,
	 "{\"cdiVersion\": \"0.3.0\", \"kind\": \"v.com/c\", "
	 "\"devices\": [{\"name\": \"-x\"}]}",
	 "bad.json: devices[0]: name \"-x\" must start with a letter"},
	{FALSE,
	 "{\"cdiVersion\": \"0.3.0\", \"kind\": \"v.com/c\", "
	 "\"devices\": [{\"name\": \"a\", \"containerEdits\": {\"env\":"
	 " [\"A=1\"]}}, {\"name\": \"a\", \"containerEdits\": {}}]}",
	 "bad.json: devices[1]: device \"a\" is defined twice"},
	{FALSE, DEV("{}"),
	 "bad.json: devices[0]: device \"a\" has no "
	 "containerEdits"},
	{FALSE, DEV("{\"env\": [\"A\"]}"),
	 "bad.json: devices[0].containerEdits: env[0] \"A\" is not "
	 "NAME=VALUE"},
	{FALSE, DEV("{\"env\": \"A=1\"}"),
	 "devices[0].containerEdits: env must be a list of strings"},
	{FALSE, DEV("{\"deviceNodes\": [{\"path\": \"/d\", \"type\": \"x\"}]}"),
	 "bad.json: devices[0].containerEdits.deviceNodes[0]: type \"x\" is "
	 "not b, c, u or p"},
	{FALSE,
	 DEV("{\"deviceNodes\": [{\"path\": \"/d\", \"permissions\": "
	     "\"rwx\"}]}"),
	 "deviceNodes[0]: permissions \"rwx\" are not a combination"},
	{FALSE,
	 DEV("{\"deviceNodes\": [{\"path\": \"/d\", \"major\": \"1\"}]}"),
	 "deviceNodes[0]: major must be an integer"},
	{FALSE, DEV("{\"deviceNodes\": [{\"path\": \"/d\", \"uid\": -1}]}"),
	 "deviceNodes[0]: uid -1 is not between 0 and 4294967295"},
	{FALSE, DEV("{\"deviceNodes\": [{\"type\": \"c\"}]}"),
	 "deviceNodes[0]: path is required"},
	{FALSE, DEV("{\"deviceNodes\": [{\"path\": \"/d\", \"mode\": 1}]}"),
	 "deviceNodes[0]: unknown field \"mode\""},
	{FALSE, DEV("{\"mounts\": [{\"hostPath\": \"/a\"}]}"),
	 "bad.json: devices[0].containerEdits.mounts[0]: containerPath is "
	 "required"},
	{FALSE,
	 DEV("{\"mounts\": [{\"hostPath\": \"/a\", \"containerPath\":"
	     " \"/a\", \"options\": [1]}]}"),
	 "mounts[0]: options[0] must be a string"},
	{FALSE,
	 DEV("{\"hooks\": [{\"hookName\": \"prestop\", \"path\": "
	     "\"/h\"}]}"),
	 "hooks[0]: hookName \"prestop\" is not one of"},
	{FALSE,
	 DEV("{\"hooks\": [{\"hookName\": \"poststop\", \"path\": "
	     "\"h\"}]}"),
	 "hooks[0]: path \"h\" is not absolute"},
	{FALSE,
	 DEV("{\"hooks\": [{\"hookName\": \"poststop\", \"path\": "
	     "\"/h\", \"timeout\": 0}]}"),
	 "hooks[0]: timeout 0 is not between 1"},
	{FALSE,
	 DEV("{\"hooks\": [{\"hookName\": \"poststop\", \"path\": "
	     "\"/h\", \"env\": [\"=x\"]}]}"),
	 "hooks[0]: env[0] \"=x\" is not NAME=VALUE"},
	{FALSE, DEV("{\"additionalGids\": [\"x\"]}"),
	 "devices[0].containerEdits: additionalGids[0] is not a group id"},
	{FALSE, DEV("{\"intelRdt\": {\"closID\": \"a/b\"}}"),
	 "devices[0].containerEdits.intelRdt: closID \"a/b\" is not a valid"},
	{FALSE, DEV("{\"intelRdt\": {\"enableCMT\": 1}}"),
	 "intelRdt: enableCMT must be true or false"},
	{FALSE, DEVV("1.1.0", "{\"intelRdt\": {\"enableCMT\": true}}"),
	 "devices[0].containerEdits.intelRdt: unknown field \"enableCMT\""},
	{FALSE,
	 DEVV("1.1.0", "{\"netDevices\": [{\"hostInterfaceName\": "
		       "\"e\", \"name\": \"n\"}, {\"hostInterfaceName\""
		       ": \"e\", \"name\": \"m\"}]}"),
	 "netDevices[1]: hostInterfaceName \"e\" is listed twice"},
	{FALSE, DEVV("1.1.0", "{\"netDevices\": [{\"name\": \"n\"}]}"),
	 "netDevices[0]: hostInterfaceName is required"},
	/* Features newer than the version the spec says. */
	{FALSE,
	 DEVV("0.3.0", "{\"deviceNodes\": [{\"path\": \"/d\", "
		       "\"hostPath\": \"/e\"}]}"),
	 "bad.json: devices[0].containerEdits.deviceNodes[0]: needs "
	 "cdiVersion 0.5.0 or later, the spec says 0.3.0"},
	{FALSE,
	 DEVV("0.3.0", "{\"mounts\": [{\"hostPath\": \"/a\", "
		       "\"containerPath\": \"/a\", \"type\": \"bind\""
		       "}]}"),
	 "mounts[0]: needs cdiVersion 0.4.0 or later"},
	{FALSE, DEVV("0.6.0", "{\"intelRdt\": {\"closID\": \"c\"}}"),
	 "intelRdt: needs cdiVersion 0.7.0 or later, the spec says 0.6.0"},
	{FALSE, DEVV("0.6.0", "{\"additionalGids\": [1]}"),
	 "needs cdiVersion 0.7.0 or later"},
	{FALSE,
	 DEVV("1.0.0", "{\"netDevices\": [{\"hostInterfaceName\": "
		       "\"e\", \"name\": \"n\"}]}"),
	 "netDevices[0]: needs cdiVersion 1.1.0 or later, the spec says 1.0.0"},
	{FALSE,
	 "{\"cdiVersion\": \"0.4.0\", \"kind\": \"v.com/c\", "
	 "\"devices\": [{\"name\": \"0\", \"containerEdits\": {\"env\":"
	 " [\"A=1\"]}}]}",
	 "bad.json: devices[0]: needs cdiVersion 0.5.0 or later"},
	{FALSE,
	 "{\"cdiVersion\": \"0.5.0\", \"kind\": \"v.com/c.d\", "
	 "\"devices\": [{\"name\": \"a\", \"containerEdits\": {\"env\":"
	 " [\"A=1\"]}}]}",
	 "bad.json: kind: needs cdiVersion 0.6.0 or later"},
	{FALSE,
	 "{\"cdiVersion\": \"0.6.0\", \"kind\": \"v.com/c\", "
	 "\"annotations\": {\"a\": 1}, \"devices\": []}",
	 "bad.json: annotations.a must be a string"},
	{FALSE,
	 "{\"cdiVersion\": \"0.6.0\", \"kind\": \"v.com/c\", "
	 "\"annotations\": {\"a b\": \"x\"}, \"devices\": []}",
	 "bad.json: annotation key \"a b\" is not a valid"},
	{TRUE,
	 "cdiVersion: 0.3.0\nkind: v.com/c\ndevices:\n- name: a\n"
	 "  containerEdits:\n    env: [A=1]\n    deviceNodes:\n"
	 "    - path: /d\n      major: !!str 1\n",
	 "bad.yaml: devices[0].containerEdits.deviceNodes[0]: major must be "
	 "an integer"},
	{TRUE,
	 "cdiVersion: 0.3.0\nkind: v.com/c\ndevices:\n- name: a\n"
	 "  containerEdits:\n    env: [A=1]\n    deviceNodes:\n"
	 "    - path: /d\n      major: !weird 1\n",
	 "bad.yaml:9:14: YAML: unsupported tag !weird"},
	{TRUE, "cdiVersion: 0.3.0\nkind: v.com/c\ndevices: *nope\n",
	 "bad.yaml:3:10: YAML: "},
};

static void test_bad_specs(void **state)
{
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(bad_specs); i++) {
		const BadSpec *b = &bad_specs[i];
		const char *path = b->yaml ? "/t/bad.yaml" : "/t/bad.json";
		g_autoptr(GError) error = NULL;
		CdiSpec *s = cdi_spec_parse(b->text, strlen(b->text), path,
					    b->yaml, &error);
		if (s != NULL)
			fail_msg("bad spec %zu parsed: %s", i, b->text);
		assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, b->part);
		assert_true(g_str_has_prefix(error->message, path));
	}
}

/* --- the registry --------------------------------------------------------- */

static const char gpu_etc[] =
	"{\"cdiVersion\": \"0.5.0\", \"kind\": \"vendor.com/gpu\","
	" \"devices\": ["
	"  {\"name\": \"0\", \"containerEdits\": {\"env\": [\"G=etc0\"]}},"
	"  {\"name\": \"1\", \"containerEdits\": {\"env\": [\"G=etc1\"]}}]}";
static const char gpu_run[] = "cdiVersion: 0.5.0\n"
			      "kind: vendor.com/gpu\n"
			      "devices:\n"
			      "- name: \"0\"\n"
			      "  containerEdits: {env: [G=run0]}\n";

static void test_priority(void **state)
{
	Fx *f = *state;
	put(f->etc, "gpu.json", gpu_etc);
	put(f->run, "gpu.yaml", gpu_run);
	put(f->run, "notes.txt", "not a spec");
	g_autoptr(CdiRegistry) r = registry(f);
	json_t *s0 = applied(r, "vendor.com/gpu=0");
	assert_string_equal(env0(s0), "G=run0"); /* the later dir wins */
	json_t *s1 = applied(r, "vendor.com/gpu=1");
	assert_string_equal(env0(s1), "G=etc1");
	json_decref(s0);
	json_decref(s1);
}

static void test_conflict(void **state)
{
	Fx *f = *state;
	put(f->etc, "a.json", gpu_etc);
	put(f->etc, "b.yaml", gpu_run);
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=0", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(cdi_resolve(r, names, &e, &error));
	assert_error(error, BERTH_ERROR_FAILED_PRECONDITION,
		     "CDI device \"vendor.com/gpu=0\" is defined twice in one "
		     "dir");
	assert_non_null(strstr(error->message, "/etc/a.json"));
	assert_non_null(strstr(error->message, "/etc/b.yaml"));
	/* The other device of the file is fine. */
	json_t *s1 = applied(r, "vendor.com/gpu=1");
	assert_string_equal(env0(s1), "G=etc1");
	json_decref(s1);
	/* A later dir's definition settles it. */
	put(f->run, "c.yaml", gpu_run);
	json_t *s0 = applied(r, "vendor.com/gpu=0");
	assert_string_equal(env0(s0), "G=run0");
	json_decref(s0);
}

static void test_unknown(void **state)
{
	Fx *f = *state;
	put(f->etc, "gpu.json", gpu_etc);
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=0", "vendor.com/gpu=9", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(cdi_resolve(r, names, &e, &error));
	assert_null(e);
	assert_error(error, BERTH_ERROR_NOT_FOUND,
		     "unknown CDI device \"vendor.com/gpu=9\": the specs of "
		     "vendor.com/gpu (");
	assert_non_null(strstr(error->message, "/etc/gpu.json) define no "
					       "device \"9\""));
	g_clear_error(&error);
	const char *other[] = {"other.com/nic=eth0", NULL};
	assert_false(cdi_resolve(r, other, &e, &error));
	assert_error(
		error, BERTH_ERROR_NOT_FOUND,
		"unknown CDI device \"other.com/nic=eth0\": no CDI spec of "
		"kind other.com/nic in ");
	assert_non_null(strstr(error->message, f->etc));
	assert_non_null(strstr(error->message, f->run));
	g_clear_error(&error);
	const char *bad[] = {"gpu0", NULL};
	assert_false(cdi_resolve(r, bad, &e, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT,
		     "\"gpu0\" is not a fully qualified");
	g_clear_error(&error);
	const char *no_dirs[] = {NULL};
	g_autoptr(CdiRegistry) off = cdi_registry_new(no_dirs);
	assert_false(cdi_resolve(off, names, &e, &error));
	assert_error(
		error, BERTH_ERROR_NOT_FOUND,
		"unknown CDI device \"vendor.com/gpu=0\": no CDI spec dirs "
		"are configured");
}

static void test_broken_spec(void **state)
{
	Fx *f = *state;
	put(f->etc, "gpu.json", gpu_etc);
	put(f->etc, "nic.json",
	    "{\"cdiVersion\": \"0.3.0\", \"kind\": \"other.com/nic\", "
	    "\"devices\": [{\"name\": \"a\", \"containerEdits\": {\"env\": "
	    "[\"N=1\"]}}]}");
	/* Valid kind, bad content: blocks only vendor.com/gpu. */
	put(f->run, "gpu-new.json",
	    "{\"cdiVersion\": \"0.3.0\", \"kind\": \"vendor.com/gpu\", "
	    "\"devices\": [{\"name\": \"0\", \"containerEdits\": {}}]}");
	g_autoptr(CdiRegistry) r = registry(f);
	const char *gpu[] = {"vendor.com/gpu=1", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(cdi_resolve(r, gpu, &e, &error));
	assert_error(error, BERTH_ERROR_FAILED_PRECONDITION,
		     "CDI device \"vendor.com/gpu=1\": a spec file that may "
		     "define it is not valid: ");
	assert_non_null(strstr(error->message, "/run/gpu-new.json: devices[0]"
					       ": device \"0\" has no "
					       "containerEdits"));
	g_clear_error(&error);
	json_t *n = applied(r, "other.com/nic=a");
	json_decref(n);
	/* A broken file below the dir of the definition cannot matter. */
	g_autofree char *p = g_build_filename(f->run, "gpu-new.json", NULL);
	g_unlink(p);
	put(f->etc, "gpu-old.json",
	    "{\"cdiVersion\": \"0.3.0\", \"kind\": "
	    "\"vendor.com/gpu\", \"devices\": 7}");
	put(f->run, "gpu.yaml", gpu_run);
	json_t *s0 = applied(r, "vendor.com/gpu=0");
	assert_string_equal(env0(s0), "G=run0");
	json_decref(s0);
	assert_false(cdi_resolve(r, gpu, &e, &error));
	assert_error(error, BERTH_ERROR_FAILED_PRECONDITION,
		     "/etc/gpu-old.json: devices must be a list");
	g_clear_error(&error);
	/* A file of no known kind blocks every device. */
	put(f->run, "junk.yaml", "kind: [\n");
	const char *nic[] = {"other.com/nic=a", NULL};
	assert_false(cdi_resolve(r, nic, &e, &error));
	assert_error(error, BERTH_ERROR_FAILED_PRECONDITION,
		     "/run/junk.yaml:2:1: YAML: ");
}

static void test_reread(void **state)
{
	Fx *f = *state;
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=0", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(cdi_resolve(r, names, &e, &error));
	assert_error(error, BERTH_ERROR_NOT_FOUND, "no CDI spec of kind");
	g_clear_error(&error);
	put(f->etc, "gpu.json", gpu_etc); /* a new file */
	json_t *s = applied(r, "vendor.com/gpu=0");
	assert_string_equal(env0(s), "G=etc0");
	json_decref(s);
	/* Rewritten in place, the same size, at once. */
	g_autofree char *text = g_strdup(gpu_etc);
	memcpy(strstr(text, "etc0"), "ETC0", 4);
	put(f->etc, "gpu.json", text);
	s = applied(r, "vendor.com/gpu=0");
	assert_string_equal(env0(s), "G=ETC0");
	json_decref(s);
	g_autofree char *p = g_build_filename(f->etc, "gpu.json", NULL);
	g_unlink(p);
	assert_false(cdi_resolve(r, names, &e, &error));
	assert_error(error, BERTH_ERROR_NOT_FOUND, "no CDI spec of kind");
	/* A dir made after the registry. */
	g_clear_error(&error);
	g_autofree char *late = g_build_filename(f->root, "late", NULL);
	const char *dirs[] = {late, NULL};
	g_autoptr(CdiRegistry) r2 = cdi_registry_new(dirs);
	assert_false(cdi_resolve(r2, names, &e, &error));
	g_mkdir(late, 0755);
	put(late, "gpu.yaml", gpu_run);
	s = applied(r2, "vendor.com/gpu=0");
	assert_string_equal(env0(s), "G=run0");
	json_decref(s);
}

/* Spec-wide edits come once, before the first device of that spec. */
static void test_spec_edits_once(void **state)
{
	Fx *f = *state;
	put(f->etc, "gpu.yaml",
	    "cdiVersion: 0.3.0\nkind: vendor.com/gpu\n"
	    "containerEdits:\n  env: [DRIVER=1]\n"
	    "  mounts: [{hostPath: /lib/gpu, containerPath: /lib/gpu, "
	    "options: [ro, bind]}]\n"
	    "devices:\n- {name: a, containerEdits: {env: [A=1]}}\n"
	    "- {name: b, containerEdits: {env: [B=1]}}\n");
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=b", "vendor.com/gpu=a",
			       "vendor.com/gpu=b", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(cdi_resolve(r, names, &e, &error));
	assert_int_equal(e->entries->len, 3);
	const char *const *devs = cdi_edits_devices(e);
	assert_string_equal(devs[0], "vendor.com/gpu=b");
	assert_string_equal(devs[1], "vendor.com/gpu=a");
	assert_null(devs[2]);
	CdiEditsEntry *x = e->entries->pdata[0];
	assert_true(g_str_has_prefix(x->origin, "the spec-wide edits of "
						"vendor.com/gpu ("));
	json_t *spec = json_object();
	assert_true(cdi_apply(e, spec, &error));
	json_t *env = json_object_get(json_object_get(spec, "process"), "env");
	assert_int_equal(json_array_size(env), 3);
	assert_string_equal(json_string_value(json_array_get(env, 0)),
			    "DRIVER=1");
	assert_string_equal(json_string_value(json_array_get(env, 1)), "B=1");
	assert_string_equal(json_string_value(json_array_get(env, 2)), "A=1");
	assert_int_equal(json_array_size(json_object_get(spec, "mounts")), 1);
	json_decref(spec);
	/* No names: nothing read, nothing to do. */
	g_autoptr(CdiRegistry) none = cdi_registry_new(NULL);
	g_autoptr(CdiEdits) empty = NULL;
	assert_true(cdi_resolve(none, NULL, &empty, &error));
	assert_null(cdi_edits_devices(empty)[0]);
}

/* --- applying ------------------------------------------------------------- */

static const char oci_base[] =
	"{\"ociVersion\": \"1.0.2\","
	" \"process\": {\"user\": {\"uid\": 1000, \"gid\": 1000,"
	"  \"additionalGids\": [44]}, \"env\": [\"PATH=/bin\", \"FOO=old\"],"
	"  \"args\": [\"sh\"]},"
	" \"mounts\": ["
	"  {\"destination\": \"/proc\", \"type\": \"proc\", \"source\": "
	"   \"proc\"},"
	"  {\"destination\": \"/data/x\", \"type\": \"bind\", \"source\": "
	"   \"/old\", \"options\": [\"rbind\"]},"
	"  {\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": "
	"   \"tmpfs\"}],"
	" \"linux\": {\"namespaces\": [{\"type\": \"mount\"}],"
	"  \"resources\": {\"devices\": [{\"allow\": false, \"access\": "
	"   \"rwm\"}]},"
	"  \"devices\": [{\"path\": \"/dev/fake0\", \"type\": \"c\", "
	"   \"major\": 1, \"minor\": 1}]}}";

static const char apply_spec[] =
	"cdiVersion: 1.1.0\n"
	"kind: vendor.com/gpu\n"
	"devices:\n"
	"- name: all\n"
	"  containerEdits:\n"
	"    env: [FOO=new, BAR=1]\n"
	"    deviceNodes:\n"
	"    - {path: /dev/null}\n"
	"    - {path: /dev/fake0, type: c, major: 240, minor: 1,\n"
	"       permissions: rw, uid: 0, gid: 5, fileMode: 0660}\n"
	"    - {path: /dev/mynull, hostPath: /dev/null, permissions: none}\n"
	"    - {path: /dev/fifo, type: p}\n"
	"    mounts:\n"
	"    - {hostPath: /usr/lib/x, containerPath: /data/x,\n"
	"       options: [ro, rbind]}\n"
	"    - {hostPath: /usr/lib/y, containerPath: /usr/lib/y, type: bind,\n"
	"       options: [ro, bind]}\n"
	"    hooks:\n"
	"    - {hookName: createContainer, path: /bin/h1, args: [h1, -v],\n"
	"       env: [A=1], timeout: 5}\n"
	"    - {hookName: poststart, path: /bin/h2}\n"
	"    - {hookName: prestart, path: /bin/h3}\n"
	"    - {hookName: createContainer, path: /bin/h4}\n"
	"    additionalGids: [44, 0, 45, 45]\n"
	"    intelRdt: {closID: clos1, l3CacheSchema: \"L3:0=ff\",\n"
	"               schemata: [\"MB:0=50\"], enableMonitoring: true}\n"
	"    netDevices:\n"
	"    - {hostInterfaceName: eth1, name: net1}\n"
	"- name: missing\n"
	"  containerEdits:\n"
	"    env: [M=1]\n"
	"    deviceNodes: [{path: /nonexistent/dev/gpu9}]\n"
	"- name: wrongtype\n"
	"  containerEdits:\n"
	"    deviceNodes: [{path: /dev/null, type: b}]\n"
	"- name: eth1-again\n"
	"  containerEdits:\n"
	"    netDevices: [{hostInterfaceName: eth1, name: net2}]\n";

static json_t *get_path(json_t *o, const char *a, const char *b)
{
	return json_object_get(json_object_get(o, a), b);
}

static json_t *find(json_t *list, const char *key, const char *value)
{
	for (gsize i = 0; i < json_array_size(list); i++) {
		json_t *x = json_array_get(list, i);
		if (g_strcmp0(json_string_value(json_object_get(x, key)),
			      value) == 0)
			return x;
	}
	fail_msg("no entry with %s = %s", key, value);
	return NULL;
}

static void check_devices(json_t *spec)
{
	struct stat st;
	assert_int_equal(stat("/dev/null", &st), 0);
	json_t *devs = get_path(spec, "linux", "devices");
	assert_int_equal(json_array_size(devs), 4);
	json_t *null = find(devs, "path", "/dev/null");
	json_t *want = json_pack(
		"{s:s, s:s, s:I, s:I, s:I, s:i, s:i}", "path", "/dev/null",
		"type", "c", "major", (json_int_t)major(st.st_rdev), "minor",
		(json_int_t)minor(st.st_rdev), "fileMode",
		(json_int_t)(st.st_mode & 07777), "uid", 1000, "gid", 1000);
	assert_true(json_equal(null, want));
	json_decref(want);
	json_t *fake = json_array_get(devs, 0); /* replaced in place */
	want = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i}", "path",
			 "/dev/fake0", "type", "c", "major", 240, "minor", 1,
			 "fileMode", 0660, "uid", 0, "gid", 5);
	assert_true(json_equal(fake, want));
	json_decref(want);
	json_t *mynull = find(devs, "path", "/dev/mynull");
	assert_int_equal(json_integer_value(json_object_get(mynull, "minor")),
			 minor(st.st_rdev));
	json_t *fifo = find(devs, "path", "/dev/fifo");
	assert_string_equal(json_string_value(json_object_get(fifo, "type")),
			    "p");
	assert_null(json_object_get(fifo, "major"));

	json_t *rules = json_object_get(get_path(spec, "linux", "resources"),
					"devices");
	assert_int_equal(json_array_size(rules), 4); /* deny-all + 3 */
	json_t *r1 = json_array_get(rules, 1);
	want = json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type", "c",
			 "major", (json_int_t)major(st.st_rdev), "minor",
			 (json_int_t)minor(st.st_rdev), "access", "rwm");
	assert_true(json_equal(r1, want));
	json_decref(want);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(rules, 2), "access")),
			    "rw");
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(rules, 3), "access")),
			    "");
}

static void check_mounts_hooks(json_t *spec)
{
	json_t *mounts = json_object_get(spec, "mounts");
	assert_int_equal(json_array_size(mounts), 4);
	const char *order[] = {"/proc", "/dev", "/data/x", "/usr/lib/y"};
	for (gsize i = 0; i < G_N_ELEMENTS(order); i++)
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(mounts, i), "destination")),
			order[i]);
	json_t *x = json_array_get(mounts, 2);
	json_t *want =
		json_pack("{s:s, s:s, s:[s, s]}", "destination", "/data/x",
			  "source", "/usr/lib/x", "options", "ro", "rbind");
	assert_true(json_equal(x, want)); /* no type given, none made up */
	json_decref(want);
	json_t *hooks = json_object_get(spec, "hooks");
	json_t *cc = json_object_get(hooks, "createContainer");
	assert_int_equal(json_array_size(cc), 2);
	want = json_pack("{s:s, s:[s, s], s:[s], s:i}", "path", "/bin/h1",
			 "args", "h1", "-v", "env", "A=1", "timeout", 5);
	assert_true(json_equal(json_array_get(cc, 0), want));
	json_decref(want);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(cc, 1), "path")),
			    "/bin/h4");
	assert_int_equal(json_array_size(json_object_get(hooks, "poststart")),
			 1);
	assert_int_equal(json_array_size(json_object_get(hooks, "prestart")),
			 1);
}

static void check_rest(json_t *spec)
{
	json_t *env = get_path(spec, "process", "env");
	json_t *want = json_pack("[s, s, s]", "PATH=/bin", "FOO=new", "BAR=1");
	assert_true(json_equal(env, want));
	json_decref(want);
	json_t *gids = json_object_get(get_path(spec, "process", "user"),
				       "additionalGids");
	want = json_pack("[i, i]", 44, 45);
	assert_true(json_equal(gids, want));
	json_decref(want);
	want = json_pack("{s:s, s:s, s:[s], s:b}", "closID", "clos1",
			 "l3CacheSchema", "L3:0=ff", "schemata", "MB:0=50",
			 "enableMonitoring", 1);
	assert_true(json_equal(get_path(spec, "linux", "intelRdt"), want));
	json_decref(want);
	want = json_pack("{s:{s:s}}", "eth1", "name", "net1");
	assert_true(json_equal(get_path(spec, "linux", "netDevices"), want));
	json_decref(want);
	assert_string_equal(
		json_string_value(json_object_get(spec, "ociVersion")),
		"1.0.2");
}

static void test_apply(void **state)
{
	Fx *f = *state;
	put(f->run, "gpu.yaml", apply_spec);
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=all", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(cdi_resolve(r, names, &e, &error));
	json_t *spec = json_loads(oci_base, 0, NULL);
	assert_non_null(spec);
	if (!cdi_apply(e, spec, &error))
		fail_msg("%s", error->message);
	check_devices(spec);
	check_mounts_hooks(spec);
	check_rest(spec);
	json_decref(spec);
}

static void apply_fails(CdiRegistry *r, const char *name, const char *part)
{
	const char *names[] = {"vendor.com/gpu=all", name, NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(cdi_resolve(r, names, &e, &error));
	json_t *spec = json_loads(oci_base, 0, NULL);
	json_t *before = json_deep_copy(spec);
	assert_false(cdi_apply(e, spec, &error));
	g_autofree char *device = g_strdup_printf("CDI device \"%s\" (", name);
	assert_error(error, BERTH_ERROR_FAILED_PRECONDITION, device);
	assert_non_null(strstr(error->message, "/run/gpu.yaml): "));
	assert_non_null(strstr(error->message, part));
	assert_true(json_equal(spec, before)); /* untouched */
	json_decref(spec);
	json_decref(before);
}

static void test_apply_errors(void **state)
{
	Fx *f = *state;
	put(f->run, "gpu.yaml", apply_spec);
	g_autoptr(CdiRegistry) r = registry(f);
	apply_fails(r, "vendor.com/gpu=missing",
		    "device node /nonexistent/dev/gpu9: No such file");
	apply_fails(r, "vendor.com/gpu=wrongtype",
		    "device node /dev/null: the spec says type b, the host "
		    "node is c");
	apply_fails(r, "vendor.com/gpu=eth1-again",
		    "host interface eth1 is to be moved in as both net1 and "
		    "net2");
}

static void test_apply_user_ns(void **state)
{
	Fx *f = *state;
	put(f->etc, "gpu.json",
	    "{\"cdiVersion\": \"0.4.0\", \"kind\": \"vendor.com/gpu\", "
	    "\"devices\": [{\"name\": \"a\", \"containerEdits\": {\"mounts\": "
	    "[{\"hostPath\": \"/a\", \"containerPath\": \"/a\", \"options\": "
	    "[\"rbind\"]}, {\"hostPath\": \"/b\", \"containerPath\": \"/b\", "
	    "\"type\": \"bind\"}, {\"hostPath\": \"/c\", \"containerPath\": "
	    "\"/c\", \"options\": [\"bind\", \"idmap\"]}]}}]}");
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor.com/gpu=a", NULL};
	g_autoptr(CdiEdits) e = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(cdi_resolve(r, names, &e, &error));
	json_t *spec = json_pack("{s:{s:[{s:s}]}}", "linux", "namespaces",
				 "type", "user");
	assert_true(cdi_apply(e, spec, &error));
	json_t *m = json_object_get(spec, "mounts");
	json_t *want = json_pack("[s, s]", "rbind", "ridmap");
	assert_true(json_equal(json_object_get(json_array_get(m, 0), "options"),
			       want));
	json_decref(want);
	want = json_pack("[s]", "idmap");
	assert_true(json_equal(json_object_get(json_array_get(m, 1), "options"),
			       want));
	json_decref(want);
	want = json_pack("[s, s]", "bind", "idmap");
	assert_true(json_equal(json_object_get(json_array_get(m, 2), "options"),
			       want));
	json_decref(want);
	json_decref(spec);
}

/* --- names from a container config ---------------------------------------- */

static void kv(GPtrArray *a, const char *k, const char *v)
{
	KeyValue *x = g_new0(KeyValue, 1);
	x->key = g_strdup(k);
	x->value = g_strdup(v);
	g_ptr_array_add(a, x);
}

static void kv_free(gpointer p)
{
	KeyValue *x = p;
	g_free(x->key);
	g_free(x->value);
	g_free(x);
}

static void test_device_names(void **state)
{
	(void)state;
	g_autoptr(GPtrArray) ann = g_ptr_array_new_with_free_func(kv_free);
	kv(ann, "cdi.k8s.io/z-plugin", "c.com/z=1,a.com/x=1");
	kv(ann, "io.kubernetes.other", "not/a=cdi,name");
	kv(ann, "cdi.k8s.io/a-plugin_dev0", "d.com/w=0");
	const char *req[] = {"a.com/x=1", "b.com/y=2", "a.com/x=1", NULL};
	g_autoptr(GError) error = NULL;
	g_auto(GStrv) names = cdi_device_names(req, ann, &error);
	assert_non_null(names);
	const char *want[] = {"a.com/x=1", "b.com/y=2", "d.com/w=0",
			      "c.com/z=1", NULL};
	assert_int_equal(g_strv_length(names), 4);
	for (int i = 0; want[i]; i++)
		assert_string_equal(names[i], want[i]);

	g_auto(GStrv) none = cdi_device_names(NULL, NULL, &error);
	assert_null(none[0]);

	const char *bad_req[] = {"gpu", NULL};
	assert_null(cdi_device_names(bad_req, NULL, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT,
		     "CDI_devices: CDI device \"gpu\" is not a fully");
	g_clear_error(&error);
	kv(ann, "cdi.k8s.io/bad", "e.com/v=1,,e.com/v=2");
	assert_null(cdi_device_names(NULL, ann, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT,
		     "annotation cdi.k8s.io/bad: CDI device \"\" is not");
}

/* --- cost ----------------------------------------------------------------- */

/* Twenty spec files of four devices each in two dirs: a resolve when
 * nothing changed stats the dirs and files and reads nothing. */
static void test_reread_cost(void **state)
{
	Fx *f = *state;
	for (int i = 0; i < 20; i++) {
		g_autofree char *name = g_strdup_printf("v%02d.yaml", i);
		g_autofree char *text = g_strdup_printf(
			"cdiVersion: 0.5.0\nkind: vendor%d.com/gpu\n"
			"containerEdits: {env: [D=%d]}\ndevices:\n"
			"- {name: \"0\", containerEdits: {deviceNodes: "
			"[{path: /dev/null}]}}\n"
			"- {name: \"1\", containerEdits: {env: [G=1]}}\n"
			"- {name: \"2\", containerEdits: {env: [G=2]}}\n"
			"- {name: \"3\", containerEdits: {mounts: [{hostPath: "
			"/x, containerPath: /x, options: [bind]}]}}\n",
			i, i);
		put(i % 2 ? f->run : f->etc, name, text);
	}
	g_autoptr(CdiRegistry) r = registry(f);
	const char *names[] = {"vendor3.com/gpu=0", "vendor12.com/gpu=3", NULL};
	g_autoptr(GError) error = NULL;
	gint64 t0 = g_get_monotonic_time();
	CdiEdits *e = NULL;
	assert_true(cdi_resolve(r, names, &e, &error));
	gint64 first = g_get_monotonic_time() - t0;
	cdi_edits_free(e);
	g_usleep(150 * 1000); /* past the racy window: files read once more */
	assert_true(cdi_resolve(r, names, &e, &error));
	cdi_edits_free(e);
	const int rounds = 2000;
	t0 = g_get_monotonic_time();
	for (int i = 0; i < rounds; i++) {
		assert_true(cdi_resolve(r, names, &e, &error));
		cdi_edits_free(e);
	}
	double per = (double)(g_get_monotonic_time() - t0) / rounds;
	json_t *base = json_loads(oci_base, 0, NULL);
	assert_true(cdi_resolve(r, names, &e, &error));
	t0 = g_get_monotonic_time();
	for (int i = 0; i < rounds; i++) {
		json_t *spec = json_deep_copy(base);
		assert_true(cdi_apply(e, spec, &error));
		json_decref(spec);
	}
	double apply = (double)(g_get_monotonic_time() - t0) / rounds;
	cdi_edits_free(e);
	json_decref(base);
	print_message("cdi: first resolve (parse 20 files) %" G_GINT64_FORMAT
		      " us; no-change resolve of 2 devices %.1f us; apply "
		      "(copy of the spec included) %.1f us\n",
		      first, per, apply);
	assert_true(per < 500.0); /* the budget is 2 ms for all of it */
	assert_true(apply < 500.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_json_versions),
		cmocka_unit_test(test_parse_yaml),
		cmocka_unit_test(test_bad_specs),
		cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_broken_spec, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spec_edits_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_apply_user_ns, setup,
						teardown),
		cmocka_unit_test(test_device_names),
		cmocka_unit_test_setup_teardown(test_reread_cost, setup,
						teardown),
	};
	return cmocka_run_group_tests_name("cdi", tests, NULL, NULL);
}
