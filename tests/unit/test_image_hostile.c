/* Hostile layers against image/layer.c and flatten.c (issue 21): names
 * that climb out with "..", absolute names, symlinks and hardlinks that
 * point out of the root (and chains of them), files written through a
 * symlinked parent, device nodes, setuid files, whiteouts aimed outside,
 * duplicate entries, huge sparse files and deep trees. Every layer is
 * imported through a pipe as a pull would, then checked out: what it
 * names must land inside the image or be refused, and a "victim" dir
 * beside the store (an absolute path the layers aim at) must stay empty.
 * Needs root (ostree bare mode), like test_image_store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "tests/unit/store-helpers.h"
#include "util/error.h"
#include "util/log.h"

typedef struct {
	char *dir;
	char *victim; /* <dir>/victim: outside the store, aimed at */
	ImageStore *store;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = scratch_dir();
	f->victim = g_build_filename(f->dir, "victim", NULL);
	g_assert(mkdir(f->victim, 0755) == 0);
	g_autoptr(GError) err = NULL;
	g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
	f->store = image_store_open(storage, &err);
	g_assert_no_error(err);
	*state = f;
	return 0;
}

/* Nothing may have appeared in the victim dir, nor beside the store. */
static void assert_victim_untouched(Fixture *f)
{
	g_autoptr(GDir) d = g_dir_open(f->victim, 0, NULL);
	assert_non_null(d);
	const char *name = g_dir_read_name(d);
	if (name != NULL)
		fail_msg("%s/%s appeared outside the store", f->victim, name);
	g_autoptr(GDir) top = g_dir_open(f->dir, 0, NULL);
	while ((name = g_dir_read_name(top)) != NULL)
		if (strcmp(name, "victim") != 0 && strcmp(name, "storage") != 0)
			fail_msg("%s/%s appeared outside the store", f->dir,
				 name);
}

static int teardown(void **state)
{
	Fixture *f = *state;
	assert_victim_untouched(f);
	image_store_free(f->store);
	scratch_remove(f->dir);
	g_free(f->victim);
	g_free(f);
	return 0;
}

/* What one path of a checkout must be. type: 'f' file, 'd' dir, 'l'
 * symlink, 0 absent; text: a file's contents, or NULL; mode: 0 for any. */
typedef struct {
	const char *path;
	char type;
	const char *text;
	unsigned mode;
} Expect;

static void expect_one(const char *root, const Expect *x)
{
	struct stat st;
	if (!lstat_at(root, x->path, &st)) {
		if (x->type != 0)
			fail_msg("%s: missing", x->path);
		return;
	}
	gboolean ok = x->type == 'f'   ? S_ISREG(st.st_mode)
		      : x->type == 'd' ? S_ISDIR(st.st_mode)
		      : x->type == 'l' ? S_ISLNK(st.st_mode)
				       : FALSE;
	if (!ok)
		fail_msg("%s: mode %o, want type '%c'", x->path, st.st_mode,
			 x->type ? x->type : '-');
	if (x->mode != 0 && (st.st_mode & 07777) != x->mode)
		fail_msg("%s: mode %o, want %o", x->path, st.st_mode & 07777,
			 x->mode);
	if (x->text != NULL) {
		g_autofree char *got = read_text(root, x->path);
		assert_non_null(got);
		assert_string_equal(got, x->text);
	}
}

/* Import the layers (bottom first; each must import), commit them as one
 * image and check it out: its root, or NULL with *error set when the
 * commit is refused. The id goes to *id_out either way. */
static char *image_of(Fixture *f, const char *salt,
		      const TarEntry *const *layers, const gsize *sizes,
		      gsize n, char **id_out, GError **error)
{
	g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func(g_free);
	for (gsize i = 0; i < n; i++) {
		TestLayer l = test_layer(layers[i], sizes[i],
					 i % 2 ? TAR_PLAIN : TAR_GZIP);
		import_ok(f->store, &l);
		g_ptr_array_add(ids, g_steal_pointer(&l.diff_id));
		test_layer_clear(&l);
	}
	g_ptr_array_add(ids, NULL);
	g_autofree char *config = test_config(salt, (char **)ids->pdata);
	*id_out = digest_compute(DIGEST_SHA256, config, strlen(config));
	ImageRecord rec = {
		.id = *id_out,
		.diff_ids = (char **)ids->pdata,
		.config_json = config,
		.user = (char *)salt,
	};
	if (!image_store_commit_image(f->store, &rec, error))
		return NULL;
	return image_store_checkout(f->store, *id_out, error);
}

/* The image of the layers must commit, and its checkout hold what
 * expect says. */
static void check_image(Fixture *f, const char *salt,
			const TarEntry *const *layers, const gsize *sizes,
			gsize n, const Expect *expect, gsize n_expect)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *id = NULL;
	g_autofree char *root = image_of(f, salt, layers, sizes, n, &id, &err);
	g_assert_no_error(err);
	for (gsize i = 0; i < n_expect; i++)
		expect_one(root, &expect[i]);
	image_store_checkout_release(f->store, id);
}

#define LAYERS(...)                                                            \
	(const TarEntry *const[])                                              \
	{                                                                      \
		__VA_ARGS__                                                    \
	}
#define N(a) G_N_ELEMENTS(a)

/* A good image still goes in: the store is consistent afterwards. */
static void assert_store_works(Fixture *f)
{
	static const TarEntry good[] = {
		{'d', "etc", 0755},
		{'f', "etc/good", 0644, "good\n"},
	};
	static const Expect want[] = {{"etc/good", 'f', "good\n", 0644}};
	check_image(f, "good", LAYERS(good), (gsize[]){N(good)}, 1, want,
		    N(want));
}

/* --- names ------------------------------------------------------------- */

/* ".." is taken lexically and never above the image root; absolute
 * names are relative to it. */
static void test_dotdot_and_absolute_names(void **state)
{
	Fixture *f = *state;
	g_autofree char *abs = g_build_filename(f->victim, "abs", NULL);
	g_autofree char *up =
		g_strdup_printf("../../../../../../../..%s/up", f->victim);
	g_autofree char *up_in = g_build_filename(f->victim, "up", NULL);
	const TarEntry entries[] = {
		{'d', "etc", 0755},
		{'f', "../../../../etc/dotdot", 0644, "dotdot\n"},
		{'f', "etc/../../../x-climb", 0644, "climb\n"},
		{'f', abs, 0644, "abs\n"},
		{'f', up, 0644, "up\n"},
		{'d', "../../..", 0700},
	};
	const Expect want[] = {
		{"etc/dotdot", 'f', "dotdot\n", 0},
		{"x-climb", 'f', "climb\n", 0},
		{abs, 'f', "abs\n", 0},
		{up_in, 'f', "up\n", 0},
		{".", 'd', NULL, 0700},
	};
	check_image(f, "dotdot", LAYERS(entries), (gsize[]){N(entries)}, 1,
		    want, N(want));
	assert_false(g_file_test("/etc/dotdot", G_FILE_TEST_EXISTS));
	assert_store_works(f);
}

/* --- symlinks ------------------------------------------------------------ */

/* Lower layer: links out of the root, absolute and relative, and a
 * chain; upper layer: files written through each of them. Like an
 * extraction onto disk, the links are followed, but inside the image. */
static void test_symlinked_parents_stay_inside(void **state)
{
	Fixture *f = *state;
	g_autofree char *rel =
		g_strdup_printf("../../../../../../..%s", f->victim);
	const TarEntry lower[] = {
		{'l', "abs", 0, f->victim},
		{'l', "rel", 0, rel},
		{'l', "chain1", 0, "chain2"},
		{'l', "chain2", 0, "/chain3"},
		{'l', "chain3", 0, f->victim},
		{'l', "etc", 0, "/proc/self/root/etc"},
	};
	const TarEntry upper[] = {
		{'f', "abs/through-abs", 0644, "a\n"},
		{'f', "rel/through-rel", 0644, "r\n"},
		{'f', "chain1/through-chain", 0644, "c\n"},
		{'f', "etc/passwd-through", 0644, "p\n"},
	};
	g_autofree char *a = g_build_filename(f->victim, "through-abs", NULL);
	g_autofree char *r = g_build_filename(f->victim, "through-rel", NULL);
	g_autofree char *c = g_build_filename(f->victim, "through-chain", NULL);
	const Expect want[] = {
		{a, 'f', "a\n", 0},
		{r, 'f', "r\n", 0},
		{c, 'f', "c\n", 0},
		{"proc/self/root/etc/passwd-through", 'f', "p\n", 0},
		{"abs", 'l', NULL, 0}, /* the links stay as the image has them
					*/
		{"chain1", 'l', NULL, 0},
	};
	check_image(f, "symlinks", LAYERS(lower, upper),
		    (gsize[]){N(lower), N(upper)}, 2, want, N(want));
	assert_false(g_file_test("/etc/passwd-through", G_FILE_TEST_EXISTS));
	assert_store_works(f);
}

/* Within one layer a directory entry replaces a symlink at its name;
 * the file below lands in that directory, not where the link pointed. */
static void test_symlink_then_file_same_layer(void **state)
{
	Fixture *f = *state;
	const TarEntry entries[] = {
		{'l', "out", 0, f->victim},
		{'f', "out/owned", 0644, "o\n"},
		{'l', "loop", 0, "loop"},
		{'f', "loop/x", 0644, "x\n"},
	};
	const Expect want[] = {
		{"out", 'd', NULL, 0},
		{"out/owned", 'f', "o\n", 0},
		{"loop/x", 'f', "x\n", 0},
	};
	check_image(f, "same-layer", LAYERS(entries), (gsize[]){N(entries)}, 1,
		    want, N(want));
}

/* A loop of links under an upper layer's file ends where the hop limit
 * cuts it (a directory replaces the link there); no hang. */
static void test_symlink_loop_parent(void **state)
{
	Fixture *f = *state;
	const TarEntry lower[] = {
		{'l', "a", 0, "b"},
		{'l', "b", 0, "/a"},
	};
	const TarEntry upper[] = {
		{'f', "a/deep/file", 0644, "d\n"},
	};
	const Expect want[] = {
		{"a/deep/file", 'f', "d\n", 0},
		{"b", 'l', NULL, 0},
	};
	check_image(f, "loop", LAYERS(lower, upper),
		    (gsize[]){N(lower), N(upper)}, 2, want, N(want));
}

/* --- hardlinks ----------------------------------------------------------- */

static void test_hardlinks_inside(void **state)
{
	Fixture *f = *state;
	static const TarEntry entries[] = {
		{'d', "etc", 0755},
		{'f', "etc/passwd", 0644, "image passwd\n"},
		/* climbs out lexically, resolves to the image's own file */
		{'h', "up", 0, "../../../../etc/passwd"},
		{'h', "abs", 0, "/etc/passwd"},
		/* a chain: link to a link */
		{'h', "chain", 0, "up"},
		/* a hardlink to a symlink pointing out is that symlink */
		{'l', "sl", 0, "/etc/shadow"},
		{'h', "to-sl", 0, "sl"},
	};
	static const Expect want[] = {
		{"up", 'f', "image passwd\n", 0},
		{"abs", 'f', "image passwd\n", 0},
		{"chain", 'f', "image passwd\n", 0},
		{"to-sl", 'l', NULL, 0},
	};
	check_image(f, "hardlinks", LAYERS(entries), (gsize[]){N(entries)}, 1,
		    want, N(want));
}

/* A hardlink whose target no layer holds (a host file, or a path through
 * a symlinked dir) is refused when the image is put together. */
static void test_hardlinks_out_refused(void **state)
{
	Fixture *f = *state;
	static const TarEntry lower[] = {
		{'l', "hostetc", 0, "/etc"},
	};
	static const TarEntry host[] = {
		{'h', "shadow", 0, "../../../../../etc/shadow"},
	};
	static const TarEntry through[] = {
		{'h', "pw", 0, "hostetc/passwd"},
	};
	const TarEntry *uppers[] = {host, through};
	for (gsize i = 0; i < G_N_ELEMENTS(uppers); i++) {
		g_autoptr(GError) err = NULL;
		g_autofree char *id = NULL;
		g_autofree char *salt = g_strdup_printf("hl-out-%zu", i);
		g_autofree char *root =
			image_of(f, salt, LAYERS(lower, uppers[i]),
				 (gsize[]){1, 1}, 2, &id, &err);
		assert_null(root);
		assert_non_null(err);
		assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
		assert_non_null(strstr(err->message, "is in no layer"));
		assert_null(image_store_lookup(f->store, id, NULL));
	}
	assert_store_works(f);
}

/* --- special files ----------------------------------------------------- */

/* Device nodes and FIFOs are not stored, yet hide the lower file at
 * their name; setuid and setgid are kept as the image has them (as other
 * runtimes do), inside the image and a store only root can enter. */
static void test_devices_and_setuid(void **state)
{
	Fixture *f = *state;
	static const TarEntry lower[] = {
		{'d', "dev", 0755},
		{'f', "dev/hidden", 0644, "lower\n"},
	};
	static const TarEntry upper[] = {
		{'c', "dev/mem-copy", 0666},
		{'c', "dev/hidden", 0666},
		{'p', "fifo", 0644},
		{'f', "suid", 04755, "#!/bin/sh\n"},
		{'f', "sgid", 02755, "#!/bin/sh\n"},
	};
	static const Expect want[] = {
		{"dev/mem-copy", 0, NULL, 0}, {"dev/hidden", 0, NULL, 0},
		{"fifo", 0, NULL, 0},	      {"suid", 'f', NULL, 04755},
		{"sgid", 'f', NULL, 02755},
	};
	check_image(f, "specials", LAYERS(lower, upper),
		    (gsize[]){N(lower), N(upper)}, 2, want, N(want));
	/* ... and no other host user can reach them to run them */
	const char *dirs[] = {"storage", "storage/checkouts"};
	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		struct stat st;
		assert_true(lstat_at(f->dir, dirs[i], &st));
		if ((st.st_mode & 0077) != 0)
			fail_msg("%s: mode %o lets others in", dirs[i],
				 st.st_mode & 07777);
	}
}

/* --- whiteouts ----------------------------------------------------------- */

/* Markers act on the image's own tree, never above it; markers naming
 * ".", ".." or nothing, and AUFS bookkeeping, are dropped. */
static void test_whiteouts_aimed_outside(void **state)
{
	Fixture *f = *state;
	static const TarEntry lower[] = {
		{'d', "etc", 0755},
		{'f', "etc/a", 0644, "a\n"},
		{'f', "etc/b", 0644, "b\n"},
		{'d', "storage", 0755},
		{'f', "storage/s", 0644, "s\n"},
		{'d', "top", 0755},
		{'f', "top/t", 0644, "t\n"},
		{'f', "lower", 0644, "l\n"},
	};
	static const TarEntry upper[] = {
		{'f', "../.wh.storage", 0644, ""},
		{'f', "etc/../../.wh.top", 0644, ""},
		{'f', "etc/.wh...", 0644, ""},
		{'f', "etc/.wh..", 0644, ""},
		{'f', "etc/.wh.", 0644, ""},
		{'f', "etc/.wh..wh.plnk", 0644, ""},
		{'f', "../../etc/.wh.a", 0644, ""},
	};
	static const Expect want[] = {
		{"storage", 0, NULL, 0},    {"top", 0, NULL, 0},
		{"etc/a", 0, NULL, 0},	    {"etc/b", 'f', "b\n", 0},
		{"etc/.wh...", 0, NULL, 0}, {".wh.storage", 0, NULL, 0},
		{"lower", 'f', "l\n", 0},
	};
	check_image(f, "whiteouts", LAYERS(lower, upper),
		    (gsize[]){N(lower), N(upper)}, 2, want, N(want));
	/* the real store beside the victim dir is whole */
	g_autofree char *store = g_build_filename(f->dir, "storage", NULL);
	assert_true(g_file_test(store, G_FILE_TEST_IS_DIR));
	assert_store_works(f);
}

/* An opaque marker climbing out clears only the image's own root. */
static void test_opaque_aimed_outside(void **state)
{
	Fixture *f = *state;
	static const TarEntry lower[] = {
		{'f', "lower", 0644, "l\n"},
	};
	static const TarEntry upper[] = {
		{'f', "../../.wh..wh..opq", 0644, ""},
		{'f', "upper", 0644, "u\n"},
	};
	static const Expect want[] = {
		{"lower", 0, NULL, 0},
		{"upper", 'f', "u\n", 0},
		{".wh..wh..opq", 0, NULL, 0},
	};
	check_image(f, "opaque", LAYERS(lower, upper),
		    (gsize[]){N(lower), N(upper)}, 2, want, N(want));
	assert_store_works(f);
}

/* --- duplicates ------------------------------------------------------------
 */

/* The last entry for a name wins, whatever the types. */
static void test_duplicate_entries(void **state)
{
	Fixture *f = *state;
	static const TarEntry entries[] = {
		{'f', "dup", 0644, "first\n"},
		{'f', "dup", 0600, "second\n"},
		{'d', "dir-then-file", 0755},
		{'f', "dir-then-file/inside", 0644, "i\n"},
		{'f', "dir-then-file", 0644, "file\n"},
		{'f', "file-then-dir", 0644, "file\n"},
		{'d', "file-then-dir", 0700},
		{'l', "link-then-file", 0, "/etc/shadow"},
		{'f', "link-then-file", 0644, "plain\n"},
		{'d', "d", 0755},
		{'d', "d", 0711},
	};
	static const Expect want[] = {
		{"dup", 'f', "second\n", 0600},
		{"dir-then-file", 'f', "file\n", 0},
		{"file-then-dir", 'd', NULL, 0700},
		{"link-then-file", 'f', "plain\n", 0},
		{"d", 'd', NULL, 0711},
	};
	check_image(f, "dups", LAYERS(entries), (gsize[]){N(entries)}, 1, want,
		    N(want));
}

/* --- resources ------------------------------------------------------------ */

/* A tar holding one sparse file of logical size size whose only data is
 * the first 4 KiB: a few KiB of tar that would expand to size bytes. */
static TestLayer sparse_layer(gint64 size)
{
	GByteArray *tar = g_byte_array_new();
	struct archive *a = archive_write_new();
	archive_write_set_format_pax(a);
	archive_write_open(a, tar, NULL, tar_write_cb, NULL);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "sparse");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, size);
	archive_entry_sparse_add_entry(e, 0, 4096);
	g_assert(archive_write_header(a, e) == ARCHIVE_OK);
	static char block[4096];
	memset(block, 'x', sizeof block);
	g_assert(archive_write_data(a, block, sizeof block) == sizeof block);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	TestLayer l = {0};
	l.diff_id = digest_compute(DIGEST_SHA256, tar->data, tar->len);
	l.blob = g_byte_array_free_to_bytes(tar_compress(tar, TAR_GZIP));
	g_byte_array_unref(tar);
	return l;
}

/* ostree cannot store holes: a sparse file would be written out whole.
 * A small one is; one whose holes pass the cap is refused at its header,
 * before a byte is written. */
static void test_sparse_file(void **state)
{
	Fixture *f = *state;
	TestLayer small = sparse_layer(1024 * 1024);
	import_ok(f->store, &small);
	g_autoptr(GError) err = NULL;
	TestLayer huge = sparse_layer((gint64)1 << 40); /* 1 TiB */
	gint64 t0 = g_get_monotonic_time();
	assert_false(import_blob(f->store, huge.diff_id, huge.blob, &err));
	assert_int_equal(err->code, BERTH_ERROR_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(err->message, "sparse"));
	assert_true(g_get_monotonic_time() - t0 < 10 * G_USEC_PER_SEC);
	assert_false(image_store_has_layer(f->store, huge.diff_id));
	test_layer_clear(&small);
	test_layer_clear(&huge);
	assert_store_works(f);
}

/* A member name far deeper than any path the kernel takes is refused
 * (the trees are walked recursively: it must not blow the stack). */
static void test_deep_path(void **state)
{
	Fixture *f = *state;
	GString *deep = g_string_new(NULL);
	for (int i = 0; i < 200000; i++)
		g_string_append(deep, "d/");
	g_string_append(deep, "file");
	const TarEntry entries[] = {
		{'f', deep->str, 0644, "deep\n"},
	};
	TestLayer l = test_layer(entries, 1, TAR_GZIP);
	g_autoptr(GError) err = NULL;
	assert_false(import_blob(f->store, l.diff_id, l.blob, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	assert_non_null(strstr(err->message, "too long"));
	assert_false(image_store_has_layer(f->store, l.diff_id));
	g_string_free(deep, TRUE);
	test_layer_clear(&l);
	assert_store_works(f);
}

/* Writes a gzip tar of n whiteout markers (the cheapest entries to
 * store) to fd, stopping when the reader goes away, then closes fd. */
typedef struct {
	int fd;
	guint n;
} EntryFlood;

static gpointer entry_flood_thread(gpointer p)
{
	EntryFlood *fl = p;
	struct archive *a = archive_write_new();
	archive_write_set_format_gnutar(a);
	archive_write_add_filter_gzip(a);
	archive_write_open_fd(a, fl->fd);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, 0);
	for (guint i = 0; i < fl->n; i++) {
		char name[32];
		g_snprintf(name, sizeof name, "d%04u/.wh.f%07u", i / 1000, i);
		archive_entry_set_pathname(e, name);
		if (archive_write_header(a, e) != ARCHIVE_OK)
			break;
	}
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	close(fl->fd);
	return NULL;
}

/* The layer's tree is held in memory: a layer of more entries than the
 * cap (1,000,000) is refused while it streams, before its end. */
static void test_entry_flood(void **state)
{
	Fixture *f = *state;
	int p[2];
	g_assert(pipe2(p, O_CLOEXEC) == 0);
	EntryFlood fl = {p[1], 1000001};
	GThread *t = g_thread_new("flood", entry_flood_thread, &fl);
	g_autoptr(GError) err = NULL;
	const char *any = "sha256:"
			  "0000000000000000000000000000000000000000000000000"
			  "000000000000000";
	assert_false(image_store_import_layer_fd(f->store, any, p[0], &err));
	close(p[0]);
	g_thread_join(t);
	assert_int_equal(err->code, BERTH_ERROR_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(err->message, "more than 1000000 entries"));
	assert_false(image_store_has_layer(f->store, any));
	assert_store_works(f);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_image_hostile: needs root (ostree bare "
				"mode); skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	berth_log_set_level(BERTH_LOG_WARN);
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_dotdot_and_absolute_names),
		T(test_symlinked_parents_stay_inside),
		T(test_symlink_then_file_same_layer),
		T(test_symlink_loop_parent),
		T(test_hardlinks_inside),
		T(test_hardlinks_out_refused),
		T(test_devices_and_setuid),
		T(test_whiteouts_aimed_outside),
		T(test_opaque_aimed_outside),
		T(test_duplicate_entries),
		T(test_sparse_file),
		T(test_deep_path),
		T(test_entry_flood),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
