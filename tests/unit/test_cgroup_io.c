/* The per-device block I/O parsers: v2 io.stat and v1 blkio's throttle
 * counters, as the kernel writes them and as it might not (unknown keys
 * and operations, junk lines, overflowing numbers, more devices than the
 * table holds), and the DEVNAME of a uevent file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "sandbox/cgroup/cgroup.h"

static void test_v2_io_stat(void **state)
{
	(void)state;
	CgroupIo io = {0};
	cgroup_io_parse_v2(
		"254:0 rbytes=4096 wbytes=1048576 rios=1 wios=256 "
		"dbytes=0 dios=0\n"
		"8:16 wios=3 rbytes=10 unknown=5 rios=2 wbytes=12288\n",
		&io);
	assert_int_equal(io.n, 2);
	assert_int_equal(io.dev[0].major, 254);
	assert_int_equal(io.dev[0].minor, 0);
	assert_int_equal(io.dev[0].read_bytes, 4096);
	assert_int_equal(io.dev[0].write_bytes, 1048576);
	assert_int_equal(io.dev[0].reads, 1);
	assert_int_equal(io.dev[0].writes, 256);
	assert_int_equal(io.dev[1].major, 8);
	assert_int_equal(io.dev[1].minor, 16);
	assert_int_equal(io.dev[1].read_bytes, 10);
	assert_int_equal(io.dev[1].write_bytes, 12288);
	assert_int_equal(io.dev[1].reads, 2);
	assert_int_equal(io.dev[1].writes, 3);
}

static void test_v2_bad_lines(void **state)
{
	(void)state;
	CgroupIo io = {0};
	cgroup_io_parse_v2("\n"
			   "junk rbytes=1\n"
			   "8: rbytes=1\n"
			   ":0 rbytes=1\n"
			   "8:0rbytes=1\n"
			   "99999999999:0 rbytes=1\n"
			   "7:0 rbytes=99999999999999999999 wbytes=-1 "
			   "rios=1x wios=2\n"
			   "7:1 rbytes=\n",
			   &io);
	/* Only the two lines with a device number make entries; bad
	 * values are skipped, the good ones kept. */
	assert_int_equal(io.n, 2);
	assert_int_equal(io.dev[0].major, 7);
	assert_int_equal(io.dev[0].read_bytes, 0);
	assert_int_equal(io.dev[0].write_bytes, 0);
	assert_int_equal(io.dev[0].reads, 0);
	assert_int_equal(io.dev[0].writes, 2);
	assert_int_equal(io.dev[1].minor, 1);
	assert_int_equal(io.dev[1].read_bytes, 0);
	cgroup_io_parse_v2(NULL, &io);
	assert_int_equal(io.n, 2);
}

static void test_v2_table_full(void **state)
{
	(void)state;
	g_autoptr(GString) t = g_string_new(NULL);
	for (int i = 0; i < CGROUP_IO_DEVICES + 4; i++)
		g_string_append_printf(t, "8:%d rbytes=%d\n", i, i + 1);
	/* A device seen again adds to its entry. */
	g_string_append(t, "8:0 rbytes=100\n");
	CgroupIo io = {0};
	cgroup_io_parse_v2(t->str, &io);
	assert_int_equal(io.n, CGROUP_IO_DEVICES);
	assert_int_equal(io.dev[0].read_bytes, 101);
	assert_int_equal(io.dev[CGROUP_IO_DEVICES - 1].minor,
			 CGROUP_IO_DEVICES - 1);
}

static void test_v1_throttle_files(void **state)
{
	(void)state;
	CgroupIo io = {0};
	cgroup_io_parse_v1("254:0 Read 8192\n254:0 Write 4194304\n"
			   "254:0 Sync 4194304\n254:0 Async 8192\n"
			   "254:0 Discard 0\n254:0 Total 4202496\n"
			   "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\n"
			   "Total 4202499\n",
			   "254:0 Read 2\n254:0 Write 1024\n254:0 Total 1026\n"
			   "11:0 Write 5\n"
			   "Total 1026\n",
			   &io);
	assert_int_equal(io.n, 3);
	assert_int_equal(io.dev[0].major, 254);
	assert_int_equal(io.dev[0].read_bytes, 8192);
	assert_int_equal(io.dev[0].write_bytes, 4194304);
	assert_int_equal(io.dev[0].reads, 2);
	assert_int_equal(io.dev[0].writes, 1024);
	assert_int_equal(io.dev[1].major, 8);
	assert_int_equal(io.dev[1].read_bytes, 1);
	assert_int_equal(io.dev[1].write_bytes, 2);
	assert_int_equal(io.dev[1].reads, 0);
	/* A device only in the counts file. */
	assert_int_equal(io.dev[2].major, 11);
	assert_int_equal(io.dev[2].writes, 5);
	assert_int_equal(io.dev[2].write_bytes, 0);
}

static void test_v1_empty_and_bad(void **state)
{
	(void)state;
	CgroupIo io = {0};
	/* What a cgroup that did no I/O shows. */
	cgroup_io_parse_v1("Total 0\n", "Total 0\n", &io);
	assert_int_equal(io.n, 0);
	cgroup_io_parse_v1("8:0 Read\n8:0 Write 12 extra\n8:0 Reads 5\n"
			   "8:0 Read -4\n8:0 Write 7\n",
			   NULL, &io);
	assert_int_equal(io.n, 1);
	assert_int_equal(io.dev[0].read_bytes, 0);
	assert_int_equal(io.dev[0].write_bytes, 7);
}

static void test_uevent_devname(void **state)
{
	(void)state;
	g_autofree char *a =
		cgroup_io_uevent_devname("MAJOR=254\nMINOR=0\nDEVNAME=vda\n"
					 "DEVTYPE=disk\n");
	assert_string_equal(a, "vda");
	g_autofree char *b =
		cgroup_io_uevent_devname("MAJOR=253\nDEVNAME=mapper/root\n");
	assert_string_equal(b, "mapper/root");
	assert_null(cgroup_io_uevent_devname("MAJOR=1\nMINOR=2\n"));
	assert_null(cgroup_io_uevent_devname("DEVNAME=\n"));
	assert_null(cgroup_io_uevent_devname("DEVNAME=../../etc\n"));
	assert_null(cgroup_io_uevent_devname(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_io_stat),
		cmocka_unit_test(test_v2_bad_lines),
		cmocka_unit_test(test_v2_table_full),
		cmocka_unit_test(test_v1_throttle_files),
		cmocka_unit_test(test_v1_empty_and_bad),
		cmocka_unit_test(test_uevent_devname),
	};
	return cmocka_run_group_tests_name("cgroup_io", tests, NULL, NULL);
}
