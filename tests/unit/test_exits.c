/* The exits-dir watcher reports files renamed or written into place, and
 * nothing for tmp files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>

#include "sandbox/container/exits.h"
#include "util/fs.h"

typedef struct {
	GMutex lock;
	GCond cond;
	GPtrArray *seen;
} Seen;

static void on_exit_file(const char *id, gpointer data)
{
	Seen *s = data;
	g_mutex_lock(&s->lock);
	g_ptr_array_add(s->seen, g_strdup(id));
	g_cond_broadcast(&s->cond);
	g_mutex_unlock(&s->lock);
}

static gboolean wait_count(Seen *s, guint n)
{
	gint64 until = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
	g_mutex_lock(&s->lock);
	while (s->seen->len < n && g_cond_wait_until(&s->cond, &s->lock, until))
		;
	gboolean ok = s->seen->len >= n;
	g_mutex_unlock(&s->lock);
	return ok;
}

static void test_watch(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-exits-XXXXXX", NULL);
	g_autofree char *old = g_build_filename(dir, "before", NULL);
	/* Files there before the watch starts are for recovery to read. */
	assert_true(g_file_set_contents(old, "{}", -1, NULL));
	Seen s = {.seen = g_ptr_array_new_with_free_func(g_free)};
	g_mutex_init(&s.lock);
	g_cond_init(&s.cond);
	g_autoptr(GError) error = NULL;
	ExitWatch *w = exit_watch_new(dir, on_exit_file, &s, &error);
	assert_non_null(w);
	/* As the monitor writes it: a tmp file renamed into place. */
	g_autofree char *a = g_build_filename(dir, "ctr-a", NULL);
	assert_true(berth_write_file_atomic(a, "{}", 2, 0600, &error));
	/* GLib's own tmp-and-rename: the tmp name is never reported. */
	g_autofree char *b = g_build_filename(dir, "ctr-b", NULL);
	assert_true(g_file_set_contents(b, "{}", -1, NULL));
	assert_true(wait_count(&s, 2));
	g_usleep(100000);
	exit_watch_free(w);
	assert_int_equal(s.seen->len, 2);
	assert_string_equal(g_ptr_array_index(s.seen, 0), "ctr-a");
	assert_string_equal(g_ptr_array_index(s.seen, 1), "ctr-b");
	g_autoptr(GPtrArray) all = exits_list(dir);
	assert_int_equal(all->len, 3);
	g_ptr_array_unref(s.seen);
	g_unlink(a);
	g_unlink(b);
	g_unlink(old);
	g_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch),
	};
	return cmocka_run_group_tests_name("exits", tests, NULL, NULL);
}
