/* Helpers for the spec generator's unit tests: a scratch rootfs with
 * /etc/passwd and /etc/group, pod files, an image config, a context with
 * fixed host facts, and small lookups into the generated JSON.
 * Header-only: each test_*.c is its own program. */
#pragma once

#include "sandbox/spec/spec.h"
#include "util/error.h"
#include "util/fs.h"

#include <stdlib.h>
#include <string.h>

/* cmocka's fail_msg and asserts are used below. */

#define SPEC_TEST_PASSWD                                                       \
	"root:x:0:0:root:/root:/bin/sh\n"                                      \
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"                \
	"app:x:1000:1000::/home/app:/bin/sh\n"

#define SPEC_TEST_GROUP                                                        \
	"root:x:0:\n"                                                          \
	"wheel:x:10:app\n"                                                     \
	"app:x:1000:\n"                                                        \
	"extra:x:50000:app\n"

#define SPEC_TEST_IMAGE_CONFIG                                                 \
	"{\"architecture\": \"amd64\", \"os\": \"linux\","                     \
	" \"config\": {\"Env\": [\"PATH=/img/bin\", \"A=1\", \"B=2\"],"        \
	" \"Entrypoint\": [\"/entry\", \"-x\"], \"Cmd\": [\"default-arg\"],"   \
	" \"WorkingDir\": \"/work\", \"StopSignal\": \"SIGQUIT\"},"            \
	" \"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}"

/* Host bounding set of the test machines: everything up to
 * CAP_CHECKPOINT_RESTORE except CAP_SYS_RESOURCE. */
#define SPEC_TEST_HOST_CAPS G_GUINT64_CONSTANT(0x1fffeffffff)

static const char *const spec_test_default_caps[] = {
	"CHOWN",  "DAC_OVERRIDE", "FSETID",	      "FOWNER", "SETGID",
	"SETUID", "SETPCAP",	  "NET_BIND_SERVICE", "KILL",	NULL};

typedef struct {
	char *dir;
	char *rootfs;
	char *resolv, *hosts, *hostname, *termlog, *shm, *data;
	PodConfig *pod;
	ImageConfig *image;
	OciHostInfo host;
	CtrSpecContext ctx;
} SpecFx;

static inline char *spec_fx_path(SpecFx *f, const char *rel)
{
	return g_build_filename(f->dir, rel, NULL);
}

static inline void spec_fx_write(const char *path, const char *text)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_assert_true(berth_mkdir_p(dir, 0755, NULL));
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static inline SpecFx *spec_fx_new(void)
{
	SpecFx *f = g_new0(SpecFx, 1);
	f->dir = g_dir_make_tmp("berth-test-spec-XXXXXX", NULL);
	f->rootfs = spec_fx_path(f, "rootfs");
	g_autofree char *passwd = spec_fx_path(f, "rootfs/etc/passwd");
	g_autofree char *group = spec_fx_path(f, "rootfs/etc/group");
	spec_fx_write(passwd, SPEC_TEST_PASSWD);
	spec_fx_write(group, SPEC_TEST_GROUP);
	f->resolv = spec_fx_path(f, "pod/resolv.conf");
	f->hosts = spec_fx_path(f, "pod/hosts");
	f->hostname = spec_fx_path(f, "pod/hostname");
	f->termlog = spec_fx_path(f, "ctr/termination-log");
	f->shm = spec_fx_path(f, "pod/shm");
	f->data = spec_fx_path(f, "data");
	spec_fx_write(f->resolv, "nameserver 10.0.0.10\n");
	spec_fx_write(f->hosts, "127.0.0.1 localhost\n");
	spec_fx_write(f->hostname, "pod-host\n");
	spec_fx_write(f->termlog, "");
	g_assert_true(berth_mkdir_p(f->shm, 0755, NULL));
	g_assert_true(berth_mkdir_p(f->data, 0755, NULL));
	f->pod = pod_config_new();
	g_free(f->pod->hostname);
	f->pod->hostname = g_strdup("pod-host");
	const char *img = SPEC_TEST_IMAGE_CONFIG;
	g_assert_true(image_config_parse(img, strlen(img), &f->image, NULL));
	f->host = (OciHostInfo){
		.cap_bounding = SPEC_TEST_HOST_CAPS,
		.oom_score_adj_min = 0,
		.swap_accounting = TRUE,
		.dev_dir = "/dev",
	};
	f->ctx = (CtrSpecContext){
		.id = "c0ffee",
		.rootfs = f->rootfs,
		.pod = f->pod,
		.netns = "/run/berth/ns/p1/net",
		.ipcns = "/run/berth/ns/p1/ipc",
		.utsns = "/run/berth/ns/p1/uts",
		.infra_pid = 4242,
		.pod_cgroup = "/berth/berth-pod-p1",
		.image = f->image,
		.resolv_conf = f->resolv,
		.hosts = f->hosts,
		.hostname_file = f->hostname,
		.shm_path = f->shm,
		.termination_log = f->termlog,
		.default_capabilities = spec_test_default_caps,
		.host = &f->host,
		.runtime = "runc",
		.rro_mounts = TRUE,
	};
	return f;
}

static inline void spec_fx_free(SpecFx *f)
{
	berth_rm_rf(f->dir, NULL);
	g_free(f->dir);
	g_free(f->rootfs);
	g_free(f->resolv);
	g_free(f->hosts);
	g_free(f->hostname);
	g_free(f->termlog);
	g_free(f->shm);
	g_free(f->data);
	pod_config_free(f->pod);
	image_config_free(f->image);
	g_free(f);
}

/* A container config as kubelet sends for an ordinary pod. */
static inline CtrConfig *spec_test_config(void)
{
	CtrConfig *c = ctr_config_new();
	g_free(c->name);
	c->name = g_strdup("app");
	c->security.ns_pid = POD_NS_CONTAINER;
	return c;
}

static inline json_t *spec_gen(SpecFx *f, const CtrConfig *c)
{
	OciSpecResult r;
	g_autoptr(GError) err = NULL;
	if (!oci_spec_build(c, &f->ctx, &r, &err))
		fail_msg("spec: %s", err->message);
	json_t *spec = json_incref(r.spec);
	oci_spec_result_clear(&r);
	return spec;
}

static inline void spec_gen_fails(SpecFx *f, const CtrConfig *c, int code,
				  const char *needle)
{
	OciSpecResult r;
	g_autoptr(GError) err = NULL;
	if (oci_spec_build(c, &f->ctx, &r, &err)) {
		oci_spec_result_clear(&r);
		fail_msg("spec built, want error %d (%s)", code,
			 needle ? needle : "");
	}
	if (err->code != code || (needle && !strstr(err->message, needle)))
		fail_msg("got %d \"%s\", want %d \"%s\"", err->code,
			 err->message, code, needle ? needle : "");
	assert_null(r.spec);
}

/* The value at "a.b[2].c", or NULL. */
static inline json_t *jget(json_t *root, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	json_t *v = root;
	for (guint i = 0; v && parts[i]; i++) {
		char *bracket = strchr(parts[i], '[');
		if (bracket)
			*bracket = '\0';
		if (*parts[i])
			v = json_object_get(v, parts[i]);
		if (bracket)
			v = json_array_get(v, (size_t)atoi(bracket + 1));
	}
	return v;
}

static inline const char *jstr(json_t *root, const char *path)
{
	return json_string_value(jget(root, path));
}

static inline json_int_t jint(json_t *root, const char *path)
{
	json_t *v = jget(root, path);
	if (!json_is_integer(v))
		fail_msg("%s is not an integer", path);
	return json_integer_value(v);
}

/* An array of strings (or numbers) as "a,b,c". */
static inline char *jlist(json_t *root, const char *path)
{
	json_t *a = jget(root, path);
	GString *s = g_string_new("");
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (i)
			g_string_append_c(s, ',');
		if (json_is_integer(v))
			g_string_append_printf(s, "%" JSON_INTEGER_FORMAT,
					       json_integer_value(v));
		else
			g_string_append(s, json_string_value(v));
	}
	return g_string_free(s, FALSE);
}

static inline void assert_jlist(json_t *root, const char *path,
				const char *want)
{
	g_autofree char *got = jlist(root, path);
	if (strcmp(got, want) != 0)
		fail_msg("%s: got [%s], want [%s]", path, got, want);
}

static inline gboolean jhas(json_t *array, const char *s)
{
	size_t i;
	json_t *v;
	json_array_foreach(array, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return TRUE;
	}
	return FALSE;
}

static inline json_t *spec_mount(json_t *spec, const char *dest)
{
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(spec, "mounts"), i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "destination")),
			   dest) == 0)
			return m;
	}
	return NULL;
}

static inline json_t *spec_ns(json_t *spec, const char *type)
{
	size_t i;
	json_t *n;
	json_array_foreach(jget(spec, "linux.namespaces"), i, n)
	{
		if (strcmp(json_string_value(json_object_get(n, "type")),
			   type) == 0)
			return n;
	}
	return NULL;
}

static inline void kv_set(GPtrArray *list, const char *k, const char *v)
{
	kv_list_add(list, k, v);
}

static inline void strv_set(char ***v, const char *const *items)
{
	g_strfreev(*v);
	*v = g_strdupv((char **)items);
}
