/* What cgroup_stats_from reads from each kind of hierarchy, on fake
 * cgroupfs directories: the v2 files (memory.max, memory.swap.*,
 * memory.events, cpu.weight, cpu.max, the pressure files) and the v1
 * ones (memory limit, memsw, oom_control, cpu.shares/cfs_*), including
 * "unlimited" in both spellings and files that are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "sandbox/cgroup/cgroup-private.h"

static void put(const char *dir, const char *file, const char *text)
{
	g_autofree char *p = g_build_filename(dir, file, NULL);
	assert_true(g_file_set_contents(p, text, -1, NULL));
}

static char *fake_dir(void)
{
	char *dir = g_dir_make_tmp("cgstats-XXXXXX", NULL);
	assert_non_null(dir);
	return dir;
}

static void rm_dir(char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	for (const char *n; d && (n = g_dir_read_name(d));) {
		g_autofree char *p = g_build_filename(dir, n, NULL);
		g_unlink(p);
	}
	g_rmdir(dir);
	g_free(dir);
}

static void test_v2_files(void **state)
{
	(void)state;
	char *dir = fake_dir();
	put(dir, "cpu.stat",
	    "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
	    "nr_periods 40\nnr_throttled 7\nthrottled_usec 350000\n");
	put(dir, "cpu.weight", "100\n");
	put(dir, "cpu.max", "50000 100000\n");
	put(dir, "memory.current", "10485760\n");
	put(dir, "memory.stat",
	    "anon 4194304\nfile 6291456\nfile_mapped 8192\n"
	    "inactive_file 2097152\n"
	    "pgfault 77\npgmajfault 3\n");
	put(dir, "memory.max", "67108864\n");
	put(dir, "memory.swap.current", "4096\n");
	put(dir, "memory.swap.max", "max\n");
	put(dir, "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n");
	put(dir, "pids.current", "5\n");
	put(dir, "cgroup.procs", "10\n11\n");
	put(dir, "cpu.pressure",
	    "some avg10=1.00 avg60=0.50 avg300=0.10 total=3000000\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000\n");
	put(dir, "memory.pressure",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
	    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
	CgroupHierarchy h = {.v2 = TRUE};
	CgroupStats st = {0};
	cgroup_stats_from(&h, dir, &st);
	assert_true(st.has_cpu && st.has_memory && st.has_pids);
	assert_int_equal(st.cpu_usage_ns, 2500000000);
	assert_true(st.has_cpu_split);
	assert_int_equal(st.cpu_user_ns, 2000000000);
	assert_int_equal(st.cpu_system_ns, 500000000);
	assert_true(st.has_cfs);
	assert_int_equal(st.cfs_periods, 40);
	assert_int_equal(st.cfs_throttled_periods, 7);
	assert_int_equal(st.cfs_throttled_ns, 350000000);
	assert_int_equal(st.memory_mapped_file, 8192);
	assert_true(st.has_cpu_spec);
	/* weight 100 is shares 2597 on kubelet's scale (1024 is 39). */
	assert_int_equal(st.cpu_shares, 2597);
	assert_int_equal(st.cpu_quota_us, 50000);
	assert_int_equal(st.cpu_period_us, 100000);
	assert_int_equal(st.memory_usage, 10485760);
	assert_int_equal(st.memory_working_set, 10485760 - 2097152);
	assert_int_equal(st.memory_rss, 4194304);
	assert_int_equal(st.memory_cache, 6291456);
	assert_int_equal(st.memory_page_faults, 77);
	assert_int_equal(st.memory_major_page_faults, 3);
	assert_int_equal(st.memory_limit, 67108864);
	assert_true(st.has_swap);
	assert_int_equal(st.swap_usage, 4096);
	assert_int_equal(st.swap_limit, 0);
	assert_true(st.has_oom_kills);
	assert_int_equal(st.oom_kills, 2);
	assert_true(st.has_processes);
	assert_int_equal(st.processes, 2);
	assert_true(st.psi_cpu.present && st.psi_cpu.full.present);
	assert_int_equal(st.psi_cpu.some.total_ns, 3000000000);
	assert_true(st.psi_memory.present);
	assert_false(st.psi_io.present); /* no io.pressure */
	rm_dir(dir);
}

/* A v2 cgroup without its controllers (the unified tree of a hybrid
 * host): cpu.stat and pressure only; memory.max "max" is no limit. */
static void test_v2_without_controllers(void **state)
{
	(void)state;
	char *dir = fake_dir();
	put(dir, "cpu.stat", "usage_usec 1\nuser_usec 1\nsystem_usec 0\n");
	put(dir, "cgroup.procs", "");
	put(dir, "io.pressure",
	    "some avg10=0.00 avg60=0.00 avg300=0.00 total=5\n");
	CgroupHierarchy h = {.v2 = TRUE};
	CgroupStats st = {0};
	cgroup_stats_from(&h, dir, &st);
	assert_true(st.has_cpu && st.has_cpu_split);
	assert_false(st.has_memory || st.has_swap || st.has_oom_kills ||
		     st.has_pids || st.has_cpu_spec || st.has_cfs);
	assert_true(st.has_processes);
	assert_int_equal(st.processes, 0);
	assert_true(st.psi_io.present && !st.psi_cpu.present);
	put(dir, "memory.current", "100\n");
	put(dir, "memory.stat", "anon 1\n");
	put(dir, "memory.max", "max\n");
	CgroupStats st2 = {0};
	cgroup_stats_from(&h, dir, &st2);
	assert_true(st2.has_memory);
	assert_int_equal(st2.memory_limit, 0);
	assert_false(st2.has_swap); /* no memory.swap.current */
	rm_dir(dir);
}

static void test_v1_files(void **state)
{
	(void)state;
	char *dir = fake_dir();
	put(dir, "cpuacct.usage", "123456789\n");
	put(dir, "cpuacct.stat", "user 250\nsystem 50\n");
	put(dir, "cpu.stat",
	    "nr_periods 10\nnr_throttled 2\n"
	    "throttled_time 123456789\nnr_bursts 0\n");
	put(dir, "cpu.shares", "512\n");
	put(dir, "cpu.cfs_quota_us", "-1\n");
	put(dir, "cpu.cfs_period_us", "100000\n");
	put(dir, "memory.usage_in_bytes", "8192000\n");
	put(dir, "memory.stat",
	    "cache 1\nrss 2\ntotal_cache 4096000\ntotal_rss 3000000\n"
	    "total_inactive_file 1000000\ntotal_mapped_file 4096\n"
	    "total_pgfault 9\n"
	    "total_pgmajfault 1\n");
	put(dir, "memory.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory.memsw.usage_in_bytes", "8200192\n");
	put(dir, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
	put(dir, "memory.oom_control",
	    "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
	put(dir, "cgroup.procs", "1\n");
	char *ctrls[] = {"cpu", "cpuacct", "memory", NULL};
	CgroupHierarchy h = {.v2 = FALSE, .controllers = ctrls};
	CgroupStats st = {0};
	cgroup_stats_from(&h, dir, &st);
	assert_true(st.has_cpu);
	assert_int_equal(st.cpu_usage_ns, 123456789);
	long hz = sysconf(_SC_CLK_TCK);
	assert_true(st.has_cpu_split);
	assert_int_equal(st.cpu_user_ns, 250 * (1000000000 / hz));
	assert_int_equal(st.cpu_system_ns, 50 * (1000000000 / hz));
	assert_true(st.has_cfs);
	assert_int_equal(st.cfs_periods, 10);
	assert_int_equal(st.cfs_throttled_periods, 2);
	assert_int_equal(st.cfs_throttled_ns, 123456789);
	assert_int_equal(st.memory_mapped_file, 4096);
	assert_true(st.has_cpu_spec);
	assert_int_equal(st.cpu_shares, 512);
	assert_int_equal(st.cpu_quota_us, 0); /* -1: none */
	assert_int_equal(st.cpu_period_us, 100000);
	assert_int_equal(st.memory_working_set, 8192000 - 1000000);
	assert_int_equal(st.memory_rss, 3000000);
	assert_int_equal(st.memory_cache, 4096000);
	assert_int_equal(st.memory_limit, 0); /* the unlimited figure */
	assert_true(st.has_swap);
	assert_int_equal(st.swap_usage, 8192);
	assert_int_equal(st.swap_limit, 0);
	assert_true(st.has_oom_kills);
	assert_int_equal(st.oom_kills, 1);
	assert_false(st.has_pids);
	assert_false(st.psi_cpu.present);

	/* Limited memory and memory+swap: the swap limit is the difference. */
	put(dir, "memory.limit_in_bytes", "33554432\n");
	put(dir, "memory.memsw.limit_in_bytes", "50331648\n");
	put(dir, "cpu.cfs_quota_us", "25000\n");
	CgroupStats st2 = {0};
	cgroup_stats_from(&h, dir, &st2);
	assert_int_equal(st2.memory_limit, 33554432);
	assert_int_equal(st2.swap_limit, 16777216);
	assert_int_equal(st2.cpu_quota_us, 25000);
	rm_dir(dir);
}

/* Without swap accounting there are no memsw files: no swap figures. */
static void test_v1_without_memsw(void **state)
{
	(void)state;
	char *dir = fake_dir();
	put(dir, "memory.usage_in_bytes", "100\n");
	put(dir, "memory.stat", "total_rss 1\n");
	char *ctrls[] = {"memory", NULL};
	CgroupHierarchy h = {.v2 = FALSE, .controllers = ctrls};
	CgroupStats st = {0};
	cgroup_stats_from(&h, dir, &st);
	assert_true(st.has_memory);
	assert_false(st.has_swap || st.has_oom_kills || st.has_cpu ||
		     st.has_cpu_spec);
	rm_dir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_files),
		cmocka_unit_test(test_v2_without_controllers),
		cmocka_unit_test(test_v1_files),
		cmocka_unit_test(test_v1_without_memsw),
	};
	return cmocka_run_group_tests_name("cgroup_stats", tests, NULL, NULL);
}
