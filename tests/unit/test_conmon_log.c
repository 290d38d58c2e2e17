/* Tests of conmon/log.c: kubelet's record format to the byte, timestamps,
 * partial lines, the max line split, CR/LF on a tty and off it, both
 * streams, batching of many lines, and reopening after a rename. */
#include "conmon/log.h"
#include "util/fs.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* 2023-11-14T22:13:20.123456789Z */
#define T0 1700000000123456789LL
#define TS "2023-11-14T22:13:20.123456789Z"
#define T1 1700000001000000005LL
#define TS1 "2023-11-14T22:13:21.000000005Z"

typedef struct {
	char *dir;
	char *path;
	ConmonLog log;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = g_dir_make_tmp("berth-test-conmon-log-XXXXXX", NULL);
	f->path = g_build_filename(f->dir, "ctr.log", NULL);
	*state = f;
	return f->dir ? 0 : -1;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	conmon_log_close(&f->log);
	berth_rm_rf(f->dir, NULL);
	g_free(f->dir);
	g_free(f->path);
	g_free(f);
	return 0;
}

static ConmonLog *open_log(Fixture *f, size_t max, bool tty)
{
	assert_int_equal(conmon_log_open(&f->log, f->path, max, tty), 0);
	return &f->log;
}

static void feed(ConmonLog *l, int stream, const char *s, int64_t t)
{
	assert_int_equal(conmon_log_feed(l, stream, s, strlen(s), t), 0);
}

static void assert_file(const char *path, const char *want)
{
	g_autofree char *got = NULL;
	assert_true(g_file_get_contents(path, &got, NULL, NULL));
	assert_string_equal(got, want);
}

static void test_timestamp(void **state)
{
	(void)state;
	char buf[64];
	assert_int_equal(conmon_log_timestamp(T0, buf, sizeof buf), 30);
	assert_string_equal(buf, TS);
	conmon_log_timestamp(T1, buf, sizeof buf);
	assert_string_equal(buf, TS1);
	conmon_log_timestamp(0, buf, sizeof buf);
	assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
}

static void test_full_lines(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	feed(l, CONMON_STREAM_STDOUT, "hello\nworld\n", T0);
	feed(l, CONMON_STREAM_STDERR, "oops\n", T1);
	feed(l, CONMON_STREAM_STDOUT, "\n", T1);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 0);
	assert_file(f->path, TS " stdout F hello\n" TS " stdout F world\n" TS1
				" stderr F oops\n" TS1 " stdout F \n");
}

static void test_partial_joined(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	feed(l, CONMON_STREAM_STDOUT, "par", T0);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 3);
	assert_file(f->path, "");
	feed(l, CONMON_STREAM_STDOUT, "tial\nnext", T1);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 4);
	feed(l, CONMON_STREAM_STDOUT, " one\n", T1);
	assert_file(f->path,
		    TS1 " stdout F partial\n" TS1 " stdout F next one\n");
}

static void test_partial_flushed(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	feed(l, CONMON_STREAM_STDERR, "no newline", T0);
	feed(l, CONMON_STREAM_STDOUT, "out", T0);
	assert_int_equal(conmon_log_flush(l, CONMON_STREAM_STDERR, T1), 0);
	assert_int_equal(conmon_log_flush(l, CONMON_STREAM_STDERR, T1), 0);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 3);
	/* After a flush the rest of the line is a record of its own. */
	feed(l, CONMON_STREAM_STDERR, " yet\n", T1);
	assert_file(f->path,
		    TS1 " stderr P no newline\n" TS1 " stderr F  yet\n");
}

static void test_max_line_split(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 4, false);
	feed(l, CONMON_STREAM_STDOUT, "abcdefghij\n", T0);
	feed(l, CONMON_STREAM_STDOUT, "abcd\n", T0);
	feed(l, CONMON_STREAM_STDOUT, "abcdefgh\n", T0);
	assert_file(f->path, TS " stdout P abcd\n" TS " stdout P efgh\n" TS
				" stdout F ij\n" TS " stdout F abcd\n" TS
				" stdout P abcd\n" TS " stdout F efgh\n");
}

static void test_max_line_across_feeds(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 4, false);
	feed(l, CONMON_STREAM_STDOUT, "ab", T0);
	feed(l, CONMON_STREAM_STDOUT, "cd", T0);
	assert_file(f->path, "");
	feed(l, CONMON_STREAM_STDOUT, "efghijk", T1);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 3);
	feed(l, CONMON_STREAM_STDOUT, "\n", T1);
	assert_file(f->path, TS1 " stdout P abcd\n" TS1 " stdout P efgh\n" TS1
				 " stdout F ijk\n");
}

static void test_default_max_line(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	assert_int_equal(l->max_line, 16 * 1024);
	g_autofree char *line = g_strnfill(16 * 1024 + 10, 'x');
	feed(l, CONMON_STREAM_STDOUT, line, T0);
	feed(l, CONMON_STREAM_STDOUT, "\n", T0);
	g_autofree char *a = g_strnfill(16 * 1024, 'x');
	g_autofree char *want = g_strdup_printf(
		TS " stdout P %s\n" TS " stdout F xxxxxxxxxx\n", a);
	assert_file(f->path, want);
}

static void test_cr_not_tty(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	feed(l, CONMON_STREAM_STDOUT, "dos\r\nbar\rbaz\n", T0);
	assert_file(f->path, TS " stdout F dos\r\n" TS " stdout F bar\rbaz\n");
}

static void test_crlf_tty(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, true);
	feed(l, CONMON_STREAM_STDOUT, "one\r\ntwo\rtwo\r\n\r\n", T0);
	/* The CR and the LF in different reads. */
	feed(l, CONMON_STREAM_STDOUT, "three\r", T0);
	feed(l, CONMON_STREAM_STDOUT, "\n", T0);
	/* A lone LF (stty -onlcr) still ends a line. */
	feed(l, CONMON_STREAM_STDOUT, "four\n", T0);
	assert_file(f->path, TS " stdout F one\n" TS " stdout F two\rtwo\n" TS
				" stdout F \n" TS " stdout F three\n" TS
				" stdout F four\n");
}

static void test_crlf_tty_at_limit(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 4, true);
	/* Four bytes of content and its CRLF: one full record. */
	feed(l, CONMON_STREAM_STDOUT, "abcd\r", T0);
	feed(l, CONMON_STREAM_STDOUT, "\n", T0);
	/* A CR that turns out not to end the line is content. */
	feed(l, CONMON_STREAM_STDOUT, "efgh\r", T0);
	feed(l, CONMON_STREAM_STDOUT, "ij\r\n", T0);
	feed(l, CONMON_STREAM_STDOUT, "klmn\r", T0);
	assert_int_equal(conmon_log_pending(l, CONMON_STREAM_STDOUT), 5);
	assert_int_equal(conmon_log_flush(l, CONMON_STREAM_STDOUT, T0), 0);
	assert_file(f->path, TS " stdout F abcd\n" TS " stdout P efgh\n" TS
				" stdout F \rij\n" TS " stdout P klmn\n" TS
				" stdout P \r\n");
}

static void test_many_lines_in_one_read(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	GString *in = g_string_new(NULL), *want = g_string_new(NULL);
	for (int i = 0; i < 1000; i++) {
		g_string_append_printf(in, "line %d\n", i);
		g_string_append_printf(want, TS " stdout F line %d\n", i);
	}
	feed(l, CONMON_STREAM_STDOUT, in->str, T0);
	assert_file(f->path, want->str);
	g_string_free(in, TRUE);
	g_string_free(want, TRUE);
}

static void test_reopen(void **state)
{
	Fixture *f = *state;
	ConmonLog *l = open_log(f, 0, false);
	feed(l, CONMON_STREAM_STDOUT, "before\nhalf", T0);
	g_autofree char *rotated = g_strconcat(f->path, ".1", NULL);
	assert_int_equal(rename(f->path, rotated), 0);
	/* Until the reopen, records still go to the renamed file. */
	feed(l, CONMON_STREAM_STDOUT, " a line\n", T0);
	assert_int_equal(conmon_log_reopen(l), 0);
	feed(l, CONMON_STREAM_STDOUT, "after\nhalf", T1);
	feed(l, CONMON_STREAM_STDOUT, " again\n", T1);
	assert_file(rotated,
		    TS " stdout F before\n" TS " stdout F half a line\n");
	assert_file(f->path,
		    TS1 " stdout F after\n" TS1 " stdout F half again\n");
}

static void test_reopen_failure_keeps_old(void **state)
{
	Fixture *f = *state;
	g_autofree char *sub = g_build_filename(f->dir, "sub", NULL);
	g_autofree char *path = g_build_filename(sub, "ctr.log", NULL);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(conmon_log_open(&f->log, path, 0, false), 0);
	g_autofree char *moved = g_build_filename(f->dir, "moved", NULL);
	assert_int_equal(rename(sub, moved), 0);
	assert_int_equal(conmon_log_reopen(&f->log), -ENOENT);
	feed(&f->log, CONMON_STREAM_STDOUT, "still here\n", T0);
	g_autofree char *old = g_build_filename(moved, "ctr.log", NULL);
	assert_file(old, TS " stdout F still here\n");
}

static void test_open_failure(void **state)
{
	Fixture *f = *state;
	g_autofree char *path =
		g_build_filename(f->dir, "missing", "ctr.log", NULL);
	assert_int_equal(conmon_log_open(&f->log, path, 0, false), -ENOENT);
	assert_int_equal(f->log.fd, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test_setup_teardown(test_full_lines, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_partial_joined, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_partial_flushed, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_max_line_split, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_max_line_across_feeds,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_max_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cr_not_tty, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crlf_tty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crlf_tty_at_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_many_lines_in_one_read,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_failure_keeps_old,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_failure, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
