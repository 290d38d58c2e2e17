/* Tests of sandbox/spec-mounts.c, spec-devices.c and shm.c: the default
 * mounts, the pod's files and /dev/shm, request mounts with propagation
 * (checked against real shared, slave and private mounts, as root),
 * ordering, devices, privileged containers, and the pod shm tmpfs. */
#include "sandbox/pod/shm.h"
#include "sandbox/spec/spec.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec-helpers.h"

static int setup(void **state)
{
	*state = spec_fx_new();
	return 0;
}

static int teardown(void **state)
{
	SpecFx *f = *state;
	/* Mounts a test made below its dir, deepest first. */
	const char *mounts[] = {"prop/slave", "prop/shared", "prop/private",
				"pod/shm"};
	for (gsize i = 0; i < G_N_ELEMENTS(mounts); i++) {
		g_autofree char *p = spec_fx_path(f, mounts[i]);
		while (umount2(p, MNT_DETACH) == 0)
			;
	}
	spec_fx_free(f);
	return 0;
}

static gboolean is_root(void)
{
	return geteuid() == 0;
}

static void assert_mount(json_t *spec, const char *dest, const char *type,
			 const char *source, const char *options)
{
	json_t *m = spec_mount(spec, dest);
	if (m == NULL)
		fail_msg("no mount at %s", dest);
	assert_string_equal(jstr(m, "type"), type);
	if (source)
		assert_string_equal(jstr(m, "source"), source);
	assert_jlist(m, "options", options);
}

static void test_default_mounts(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_mount(spec, "/proc", "proc", "proc", "nosuid,noexec,nodev");
	assert_mount(spec, "/dev", "tmpfs", "tmpfs",
		     "nosuid,strictatime,mode=755,size=65536k");
	assert_mount(spec, "/dev/pts", "devpts", "devpts",
		     "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,"
		     "gid=5");
	assert_mount(spec, "/dev/mqueue", "mqueue", "mqueue",
		     "nosuid,noexec,nodev");
	assert_mount(spec, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro");
	assert_mount(spec, "/sys/fs/cgroup", "cgroup", "cgroup",
		     "nosuid,noexec,nodev,relatime,ro");
	assert_mount(spec, "/dev/shm", "bind", f->shm,
		     "rbind,rprivate,nosuid,noexec,nodev");
	assert_mount(spec, "/etc/resolv.conf", "bind", f->resolv,
		     "rbind,rprivate,nosuid,nodev,rw");
	assert_mount(spec, "/etc/hosts", "bind", f->hosts,
		     "rbind,rprivate,nosuid,nodev,rw");
	assert_mount(spec, "/etc/hostname", "bind", f->hostname,
		     "rbind,rprivate,nosuid,nodev,rw");
	assert_mount(spec, "/dev/termination-log", "bind", f->termlog,
		     "rbind,rprivate,nosuid,nodev,rw");
	assert_int_equal(json_array_size(jget(spec, "mounts")), 11);
	assert_null(jget(spec, "linux.rootfsPropagation"));
	json_decref(spec);
	/* Read-only rootfs: the pod files follow; privileged: sysfs and
	 * cgroupfs writable. */
	c->security.readonly_rootfs = TRUE;
	c->security.privileged = TRUE;
	spec = spec_gen(f, c);
	assert_mount(spec, "/etc/resolv.conf", "bind", f->resolv,
		     "rbind,rprivate,nosuid,nodev,ro");
	assert_mount(spec, "/dev/termination-log", "bind", f->termlog,
		     "rbind,rprivate,nosuid,nodev,rw");
	assert_mount(spec, "/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,rw");
	assert_mount(spec, "/sys/fs/cgroup", "cgroup", "cgroup",
		     "nosuid,noexec,nodev,relatime,rw");
	json_decref(spec);
	/* Files the context does not give are not mounted. */
	f->ctx.resolv_conf = f->ctx.hosts = f->ctx.hostname_file = NULL;
	f->ctx.termination_log = NULL;
	spec = spec_gen(f, c);
	assert_null(spec_mount(spec, "/etc/resolv.conf"));
	assert_null(spec_mount(spec, "/etc/hosts"));
	assert_null(spec_mount(spec, "/etc/hostname"));
	assert_null(spec_mount(spec, "/dev/termination-log"));
	json_decref(spec);
}

static void test_shm_choices(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	f->ctx.shm_path = NULL;
	json_t *spec = spec_gen(f, c);
	assert_mount(spec, "/dev/shm", "tmpfs", "shm",
		     "nosuid,noexec,nodev,mode=1777,size=65536k");
	json_decref(spec);
	f->ctx.ipcns = NULL; /* host IPC: the host's segments */
	spec = spec_gen(f, c);
	assert_mount(spec, "/dev/shm", "bind", "/dev/shm",
		     "rbind,rprivate,nosuid,noexec,nodev");
	json_decref(spec);
}

static void test_request_mounts(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	g_autofree char *sub = spec_fx_path(f, "data/sub");
	g_autofree char *link = spec_fx_path(f, "link-to-data");
	g_autofree char *hosts = spec_fx_path(f, "my-hosts");
	g_assert_true(berth_mkdir_p(sub, 0755, NULL));
	assert_int_equal(symlink(f->data, link), 0);
	spec_fx_write(hosts, "");
	/* Given child first: the parent must still be mounted first. */
	ctr_config_add_mount(c, "/data/sub", sub, TRUE,
			     CTR_PROPAGATION_PRIVATE);
	ctr_config_add_mount(c, "/data/", link, FALSE, CTR_PROPAGATION_PRIVATE);
	ctr_config_add_mount(c, "/etc/hosts", hosts, FALSE,
			     CTR_PROPAGATION_PRIVATE);
	ctr_config_add_mount(c, "/ro", f->data, TRUE, CTR_PROPAGATION_PRIVATE);
	CtrMount *rro = g_ptr_array_index(c->mounts, 3);
	rro->recursive_read_only = TRUE;
	CtrMount *relabel = g_ptr_array_index(c->mounts, 0);
	relabel->selinux_relabel = TRUE; /* noted, ignored */
	json_t *spec = spec_gen(f, c);
	assert_mount(spec, "/data", "bind", f->data, "rbind,rprivate,rw");
	assert_mount(spec, "/data/sub", "bind", sub, "rbind,rprivate,ro");
	assert_mount(spec, "/etc/hosts", "bind", hosts, "rbind,rprivate,rw");
	assert_mount(spec, "/ro", "bind", f->data, "rbind,rprivate,ro,rro");
	/* Depth order: no mount comes after one deeper than it. */
	json_t *mounts = jget(spec, "mounts");
	int data = -1, data_sub = -1, dev = -1, dev_pts = -1;
	size_t i;
	json_t *m;
	json_array_foreach(mounts, i, m)
	{
		const char *d = jstr(m, "destination");
		data = strcmp(d, "/data") == 0 ? (int)i : data;
		data_sub = strcmp(d, "/data/sub") == 0 ? (int)i : data_sub;
		dev = strcmp(d, "/dev") == 0 ? (int)i : dev;
		dev_pts = strcmp(d, "/dev/pts") == 0 ? (int)i : dev_pts;
	}
	assert_true(data >= 0 && data < data_sub);
	assert_true(dev >= 0 && dev < dev_pts);
	/* The request's /etc/hosts replaced the pod's. */
	int n_hosts = 0;
	json_array_foreach(mounts, i, m)
	{
		n_hosts += strcmp(jstr(m, "destination"), "/etc/hosts") == 0;
	}
	assert_int_equal(n_hosts, 1);
	json_decref(spec);
}

static void test_request_mount_errors(void **state)
{
	SpecFx *f = *state;
	const struct {
		const char *ctr, *host;
		gboolean ro, rro;
		int code;
		const char *needle;
	} cases[] = {
		{"relative", "/tmp", FALSE, FALSE, BERTH_ERROR_INVALID_ARGUMENT,
		 "relative"},
		{"/", "/tmp", FALSE, FALSE, BERTH_ERROR_INVALID_ARGUMENT,
		 "below /"},
		{"/x", "tmp", FALSE, FALSE, BERTH_ERROR_INVALID_ARGUMENT,
		 "not absolute"},
		{"/x", "/nonexistent/berth/path", FALSE, FALSE,
		 BERTH_ERROR_NOT_FOUND, "/nonexistent/berth/path"},
		{"/x", "/tmp", FALSE, TRUE, BERTH_ERROR_INVALID_ARGUMENT,
		 "recursive read-only"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(CtrConfig) c = spec_test_config();
		ctr_config_add_mount(c, cases[i].ctr, cases[i].host,
				     cases[i].ro, CTR_PROPAGATION_PRIVATE);
		CtrMount *m = g_ptr_array_index(c->mounts, 0);
		m->recursive_read_only = cases[i].rro;
		spec_gen_fails(f, c, cases[i].code, cases[i].needle);
	}
}

/* A handler without rro support refuses the mount; never a plain "ro". */
static void test_rro_unsupported(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	ctr_config_add_mount(c, "/ro", f->data, TRUE, CTR_PROPAGATION_PRIVATE);
	CtrMount *m = g_ptr_array_index(c->mounts, 0);
	m->recursive_read_only = TRUE;
	f->ctx.rro_mounts = FALSE;
	f->ctx.runtime = "crun";
	spec_gen_fails(f, c, BERTH_ERROR_FAILED_PRECONDITION,
		       "recursive read-only is not supported by runtime "
		       "handler crun");
}

/* An image volume is bound from where the caller mounted it, read-only
 * whatever the request says; one without a mounted path is a bug. */
static void test_image_volume(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	ctr_config_add_mount(c, "/host", f->data, FALSE,
			     CTR_PROPAGATION_PRIVATE);
	ctr_config_add_image_mount(c, "/vol/", "busybox", "sha256:ab", "data",
				   FALSE);
	g_autoptr(GPtrArray) vols = g_ptr_array_new();
	g_ptr_array_add(vols, NULL);
	g_ptr_array_add(vols, "/var/lib/berth/containers/x/image-volumes/1");
	f->ctx.image_volumes = vols;
	json_t *spec = spec_gen(f, c);
	assert_mount(spec, "/host", "bind", f->data, "rbind,rprivate,rw");
	assert_mount(spec, "/vol", "bind",
		     "/var/lib/berth/containers/x/image-volumes/1",
		     "rbind,rprivate,ro,nosuid,nodev");
	json_decref(spec);
	g_ptr_array_set_size(vols, 1);
	spec_gen_fails(f, c, BERTH_ERROR_INTERNAL, "not mounted");
	f->ctx.image_volumes = NULL;
}

/* A tmpfs at <dir>/prop/<name> with the given propagation flag. */
static char *prop_mount(SpecFx *f, const char *name, unsigned long flag)
{
	char *p = g_strdup_printf("%s/prop/%s", f->dir, name);
	g_assert_true(berth_mkdir_p(p, 0755, NULL));
	assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "size=1m"), 0);
	assert_int_equal(mount(NULL, p, NULL, flag, NULL), 0);
	return p;
}

static void test_propagation(void **state)
{
	SpecFx *f = *state;
	if (!is_root())
		skip();
	g_autofree char *shared = prop_mount(f, "shared", MS_SHARED);
	g_autofree char *private_ = prop_mount(f, "private", MS_PRIVATE);
	/* A slave: a bind of the shared one, then made its slave. */
	g_autofree char *slave = g_strdup_printf("%s/prop/slave", f->dir);
	g_assert_true(berth_mkdir_p(slave, 0755, NULL));
	assert_int_equal(mount(shared, slave, NULL, MS_BIND, NULL), 0);
	assert_int_equal(mount(NULL, slave, NULL, MS_SLAVE, NULL), 0);
	g_autofree char *in_shared = g_build_filename(shared, "vol", NULL);
	g_assert_true(berth_mkdir_p(in_shared, 0755, NULL));

	g_autoptr(CtrConfig) c = spec_test_config();
	ctr_config_add_mount(c, "/a", in_shared, FALSE,
			     CTR_PROPAGATION_HOST_TO_CONTAINER);
	json_t *spec = spec_gen(f, c);
	assert_mount(spec, "/a", "bind", in_shared, "rbind,rslave,rw");
	assert_string_equal(jstr(spec, "linux.rootfsPropagation"), "rslave");
	json_decref(spec);
	ctr_config_add_mount(c, "/b", shared, FALSE,
			     CTR_PROPAGATION_BIDIRECTIONAL);
	ctr_config_add_mount(c, "/c", slave, TRUE,
			     CTR_PROPAGATION_HOST_TO_CONTAINER);
	spec = spec_gen(f, c);
	assert_mount(spec, "/b", "bind", shared, "rbind,rshared,rw");
	assert_mount(spec, "/c", "bind", slave, "rbind,rslave,ro");
	assert_string_equal(jstr(spec, "linux.rootfsPropagation"), "rshared");
	json_decref(spec);

	g_autoptr(CtrConfig) bad = spec_test_config();
	ctr_config_add_mount(bad, "/d", slave, FALSE,
			     CTR_PROPAGATION_BIDIRECTIONAL);
	spec_gen_fails(f, bad, BERTH_ERROR_FAILED_PRECONDITION,
		       "is not shared");
	g_ptr_array_set_size(bad->mounts, 0);
	ctr_config_add_mount(bad, "/d", private_, FALSE,
			     CTR_PROPAGATION_HOST_TO_CONTAINER);
	spec_gen_fails(f, bad, BERTH_ERROR_FAILED_PRECONDITION,
		       "shared or slave");
	/* Private propagation needs nothing of the source. */
	g_ptr_array_set_size(bad->mounts, 0);
	ctr_config_add_mount(bad, "/d", private_, FALSE,
			     CTR_PROPAGATION_PRIVATE);
	json_decref(spec_gen(f, bad));
}

/* --- devices -------------------------------------------------------------- */

static json_t *device_at(json_t *spec, const char *path)
{
	size_t i;
	json_t *d;
	json_array_foreach(jget(spec, "linux.devices"), i, d)
	{
		if (strcmp(jstr(d, "path"), path) == 0)
			return d;
	}
	return NULL;
}

static void test_devices(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_int_equal(json_array_size(jget(spec, "linux.devices")), 0);
	json_t *rules = jget(spec, "linux.resources.devices");
	assert_int_equal(json_array_size(rules), 1);
	assert_true(json_is_false(jget(rules, "[0].allow")));
	assert_string_equal(jstr(rules, "[0].access"), "rwm");
	json_decref(spec);
	ctr_config_add_device(c, "/dev/mynull", "/dev/null", "rw");
	ctr_config_add_device(c, "/dev/myzero", "/dev/zero", "");
	spec = spec_gen(f, c);
	json_t *d = device_at(spec, "/dev/mynull");
	assert_non_null(d);
	assert_string_equal(jstr(d, "type"), "c");
	assert_int_equal(jint(d, "major"), 1);
	assert_int_equal(jint(d, "minor"), 3);
	assert_int_equal(jint(d, "fileMode"), 0666);
	rules = jget(spec, "linux.resources.devices");
	assert_int_equal(json_array_size(rules), 3);
	assert_true(json_is_true(jget(rules, "[1].allow")));
	assert_string_equal(jstr(rules, "[1].type"), "c");
	assert_int_equal(jint(rules, "[1].major"), 1);
	assert_int_equal(jint(rules, "[1].minor"), 3);
	assert_string_equal(jstr(rules, "[1].access"), "rw");
	assert_string_equal(jstr(rules, "[2].access"), "rwm");
	json_decref(spec);
}

static void test_device_dir_and_errors(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	if (is_root()) {
		/* A directory of devices maps below container_path. */
		g_autofree char *devdir = spec_fx_path(f, "devs/sub");
		g_assert_true(berth_mkdir_p(devdir, 0755, NULL));
		g_autofree char *node = spec_fx_path(f, "devs/sub/fake");
		assert_int_equal(mknod(node, S_IFCHR | 0600, makedev(1, 7)), 0);
		g_autofree char *top = spec_fx_path(f, "devs");
		ctr_config_add_device(c, "/dev/gpu", top, "r");
		json_t *spec = spec_gen(f, c);
		json_t *d = device_at(spec, "/dev/gpu/sub/fake");
		assert_non_null(d);
		assert_int_equal(jint(d, "minor"), 7);
		assert_int_equal(jint(d, "fileMode"), 0600);
		json_decref(spec);
		g_ptr_array_set_size(c->devices, 0);
	}
	ctr_config_add_device(c, "/dev/x", f->resolv, "rw");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "not a device node");
	g_ptr_array_set_size(c->devices, 0);
	ctr_config_add_device(c, "/dev/x", "/dev/berth-no-such-device", "rw");
	spec_gen_fails(f, c, BERTH_ERROR_NOT_FOUND, "berth-no-such-device");
	g_ptr_array_set_size(c->devices, 0);
	ctr_config_add_device(c, "/dev/x", "/dev/null", "rwx");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "rwx");
	g_ptr_array_set_size(c->devices, 0);
	ctr_config_add_device(c, "dev/x", "/dev/null", "rw");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "absolute");
}

static void test_privileged_devices(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	c->security.privileged = TRUE;
	json_t *spec = spec_gen(f, c);
	json_t *rules = jget(spec, "linux.resources.devices");
	assert_int_equal(json_array_size(rules), 1);
	assert_true(json_is_true(jget(rules, "[0].allow")));
	assert_string_equal(jstr(rules, "[0].access"), "rwm");
	assert_non_null(device_at(spec, "/dev/null"));
	assert_non_null(device_at(spec, "/dev/zero"));
	assert_null(device_at(spec, "/dev/console"));
	assert_null(device_at(spec, "/dev/ptmx"));
	size_t i;
	json_t *d;
	json_array_foreach(jget(spec, "linux.devices"), i, d)
	{
		assert_false(g_str_has_prefix(jstr(d, "path"), "/dev/pts/"));
		assert_true(strcmp(jstr(d, "type"), "c") == 0 ||
			    strcmp(jstr(d, "type"), "b") == 0);
	}
	json_decref(spec);
}

/* --- the pod shm ---------------------------------------------------------- */

static void test_pod_shm(void **state)
{
	SpecFx *f = *state;
	if (!is_root())
		skip();
	g_autofree char *dir = spec_fx_path(f, "pod/shm");
	g_autoptr(GError) err = NULL;
	assert_true(pod_shm_mount(dir, -1, -1, &err));
	assert_true(pod_shm_mount(dir, -1, -1, &err)); /* kept, not stacked */
	struct statfs fs;
	assert_int_equal(statfs(dir, &fs), 0);
	assert_true((guint64)fs.f_blocks * fs.f_bsize == POD_SHM_SIZE);
	struct stat st;
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01777);
	g_autofree char *mi = NULL;
	assert_true(
		g_file_get_contents("/proc/self/mountinfo", &mi, NULL, NULL));
	g_auto(GStrv) pieces = g_strsplit(mi, dir, -1);
	assert_int_equal(g_strv_length(pieces) - 1, 1);
	assert_true(pod_shm_unmount(dir, &err));
	assert_false(g_file_test(dir, G_FILE_TEST_EXISTS));
	assert_true(pod_shm_unmount(dir, &err)); /* idempotent */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_default_mounts),
		T(test_shm_choices),
		T(test_request_mounts),
		T(test_request_mount_errors),
		T(test_rro_unsupported),
		T(test_image_volume),
		T(test_propagation),
		T(test_devices),
		T(test_device_dir_and_errors),
		T(test_privileged_devices),
		T(test_pod_shm),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
