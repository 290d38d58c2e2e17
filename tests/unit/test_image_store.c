/* image/store.c and friends: layer import (compressions, digest check,
 * all-or-nothing, concurrent imports), flattening with OCI whiteouts,
 * checkouts, names, removal and prune, reopen and crash recovery.
 * Needs root (ostree bare mode keeps owners, setuid and xattrs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "tests/unit/store-helpers.h"
#include "util/error.h"
#include "util/log.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
	char *dir;
	ImageStore *store;
} Fixture;

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = scratch_dir();
	g_autoptr(GError) err = NULL;
	g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
	f->store = image_store_open(storage, &err);
	g_assert_no_error(err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	image_store_free(f->store);
	scratch_remove(f->dir);
	g_free(f);
	return 0;
}

static void reopen(Fixture *f)
{
	image_store_free(f->store);
	g_autoptr(GError) err = NULL;
	g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
	f->store = image_store_open(storage, &err);
	g_assert_no_error(err);
}

static gboolean repo_has_ref(Fixture *f, const char *ref)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(f->store, NULL);
	g_autofree char *rev = NULL;
	g_assert_true(ostree_repo_resolve_rev(repo, ref, TRUE, &rev, NULL));
	return rev != NULL;
}

static guint count_refs(Fixture *f)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(f->store, NULL);
	g_autoptr(GHashTable) refs = NULL;
	g_assert_true(ostree_repo_list_refs(repo, NULL, &refs, NULL, NULL));
	return g_hash_table_size(refs);
}

/* --- the whiteout stack --------------------------------------------------- */

static const TarEntry base_entries[] = {
	{'d', "./", 0755},
	{'d', "etc", 0755},
	{'f', "etc/passwd", 0644, "root:x:0:0::/root:/bin/sh\n"},
	{'d', "data", 0711, NULL, 1000, 1000},
	{'f', "data/keep.txt", 0644, "keep\n"},
	{'f', "data/remove-me.txt", 0644, "remove me\n"},
	{'d', "data/opaque", 0755},
	{'f', "data/opaque/lower1.txt", 0644, "lower 1\n"},
	{'d', "data/opaque/sub", 0755},
	{'f', "data/opaque/sub/lower2.txt", 0644, "lower 2\n"},
	{'d', "data/dir-to-file", 0755},
	{'f', "data/dir-to-file/inner.txt", 0644, "inner\n"},
	{'f', "data/file-to-dir", 0644, "a file for now\n"},
	{'d', "data/meta", 0700},
	{'f', "data/meta/lower.txt", 0644, "lower meta\n"},
	{'f', "data/link-target.txt", 0644, "target in a lower layer\n"},
	{'f', "data/dev-replaced.txt", 0644, "hidden by a device\n"},
	{'p', "data/fifo"},
	{'d', "var/lib/implied", 0750, NULL, 7, 7},
};

/* Whiteouts, an opaque dir, new metadata for data/meta; no "data" entry.
 * The marker comes after its siblings: order must not matter. */
static const TarEntry whiteout_entries[] = {
	{'f', "data/.wh.remove-me.txt", 0644, ""},
	{'d', "data/opaque", 0755},
	{'f', "data/opaque/upper.txt", 0644, "upper\n"},
	{'f', "data/opaque/.wh..wh..opq", 0644, ""},
	{'d', "data/meta", 0750, NULL, 1000, 1000},
	{'f', "data/meta/added.txt", 0644, "added\n"},
};

/* dir <-> file swaps without whiteouts, a device over a file, and a
 * file under "var/lib", neither of which the tar names. */
static const TarEntry swap_entries[] = {
	{'f', "data/dir-to-file", 0644, "now a file\n"},
	{'d', "data/file-to-dir", 0755},
	{'f', "data/file-to-dir/inside.txt", 0644, "now inside a dir\n"},
	{'c', "data/dev-replaced.txt"},
	{'f', "var/lib/implied/new.txt", 0600, "new\n"},
};

static const TarEntry special_entries[] = {
	{'d', "data", 0711, NULL, 1000, 1000},
	{'f', "data/setuid", 04755, "#!/bin/sh\nid -u\n"},
	{'f', "data/setgid", 02755, "g\n"},
	{'f', "data/xattr.txt", 0644, "has an xattr\n", 0, 0,
	 "user.berth=hello"},
	{'f', "data/hardlink-target.txt", 0644, "linked\n"},
	{'h', "data/hardlink.txt", 0, "data/hardlink-target.txt"},
	{'h', "./data/lower-link.txt", 0, "./data/link-target.txt"},
	{'l', "data/symlink", 0, "keep.txt"},
	{'l', "data/abs-symlink", 0, "/etc/passwd"},
	{'f', "data/owned.txt", 0640, "owned\n", 1000, 2000},
	{'f', "data/empty", 0600, ""},
};

static void stack_layers(TestLayer l[4])
{
	l[0] = test_layer(base_entries, G_N_ELEMENTS(base_entries), TAR_GZIP);
	l[1] = test_layer(whiteout_entries, G_N_ELEMENTS(whiteout_entries),
			  TAR_PLAIN);
	l[2] = test_layer(swap_entries, G_N_ELEMENTS(swap_entries), TAR_ZSTD);
	l[3] = test_layer(special_entries, G_N_ELEMENTS(special_entries),
			  TAR_GZIP);
}

static void assert_mode(const char *root, const char *rel, unsigned mode,
			unsigned uid, unsigned gid)
{
	struct stat st;
	if (!lstat_at(root, rel, &st))
		fail_msg("%s: missing", rel);
	if ((st.st_mode & 07777) != mode || st.st_uid != uid ||
	    st.st_gid != gid)
		fail_msg("%s: mode %o %u:%u, want %o %u:%u", rel,
			 st.st_mode & 07777, st.st_uid, st.st_gid, mode, uid,
			 gid);
}

static void assert_text(const char *root, const char *rel, const char *want)
{
	g_autofree char *got = read_text(root, rel);
	if (got == NULL)
		fail_msg("%s: missing", rel);
	assert_string_equal(got, want);
}

static void assert_absent(const char *root, const char *rel)
{
	if (exists_at(root, rel))
		fail_msg("%s: should be gone", rel);
}

static void assert_no_markers(const char *dir)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	assert_non_null(d);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_prefix(name, ".wh."))
			fail_msg("%s/%s: whiteout marker left", dir, name);
		g_autofree char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			assert_no_markers(p);
	}
}

static void check_whiteouts(const char *root)
{
	assert_no_markers(root);
	assert_text(root, "data/keep.txt", "keep\n");
	assert_absent(root, "data/remove-me.txt");
	assert_text(root, "data/opaque/upper.txt", "upper\n");
	assert_absent(root, "data/opaque/lower1.txt");
	assert_absent(root, "data/opaque/sub");
	assert_mode(root, "data/meta", 0750, 1000, 1000);
	assert_text(root, "data/meta/added.txt", "added\n");
	assert_text(root, "data/meta/lower.txt", "lower meta\n");
	/* never named by the whiteout and swap layers: lower metadata */
	assert_mode(root, "data", 0711, 1000, 1000);
	assert_mode(root, "var/lib/implied", 0750, 7, 7);
	assert_mode(root, "var", 0755, 0, 0);
	assert_mode(root, "", 0755, 0, 0);
}

static void check_swaps(const char *root)
{
	assert_text(root, "data/dir-to-file", "now a file\n");
	assert_text(root, "data/file-to-dir/inside.txt", "now inside a dir\n");
	assert_absent(root, "data/fifo");
	assert_absent(root, "data/dev-replaced.txt");
	assert_text(root, "var/lib/implied/new.txt", "new\n");
}

static void check_specials(const char *root)
{
	struct stat a, b;
	assert_mode(root, "data/setuid", 04755, 0, 0);
	assert_mode(root, "data/setgid", 02755, 0, 0);
	assert_mode(root, "data/owned.txt", 0640, 1000, 2000);
	g_autofree char *x = g_build_filename(root, "data/xattr.txt", NULL);
	char val[32] = {0};
	assert_int_equal(lgetxattr(x, "user.berth", val, sizeof val), 5);
	assert_string_equal(val, "hello");
	assert_true(lstat_at(root, "data/hardlink.txt", &a));
	assert_true(lstat_at(root, "data/hardlink-target.txt", &b));
	assert_int_equal(a.st_ino, b.st_ino);
	assert_true(a.st_nlink >= 2);
	assert_true(lstat_at(root, "data/lower-link.txt", &a));
	assert_true(lstat_at(root, "data/link-target.txt", &b));
	assert_int_equal(a.st_ino, b.st_ino);
	assert_text(root, "data/lower-link.txt", "target in a lower layer\n");
	g_autofree char *s1 = g_build_filename(root, "data/symlink", NULL);
	g_autofree char *s2 = g_build_filename(root, "data/abs-symlink", NULL);
	g_autofree char *t1 = g_file_read_link(s1, NULL);
	g_autofree char *t2 = g_file_read_link(s2, NULL);
	assert_string_equal(t1, "keep.txt");
	assert_string_equal(t2, "/etc/passwd");
	assert_true(lstat_at(root, "data/empty", &a));
	assert_int_equal(a.st_size, 0);
	assert_int_equal(a.st_mode & 07777, 0600);
}

static void test_flatten_stack(void **state)
{
	Fixture *f = *state;
	TestLayer l[4];
	stack_layers(l);
	for (int i = 0; i < 4; i++) {
		assert_false(image_store_has_layer(f->store, l[i].diff_id));
		import_ok(f->store, &l[i]);
		assert_true(image_store_has_layer(f->store, l[i].diff_id));
	}
	char *ids[] = {l[0].diff_id, l[1].diff_id, l[2].diff_id, l[3].diff_id,
		       NULL};
	g_autofree char *id = NULL;
	commit_ok(f->store, "stack", "docker.io/library/stack:latest", ids,
		  &id);
	g_autoptr(GError) err = NULL;
	g_autofree char *root = image_store_checkout(f->store, id, &err);
	g_assert_no_error(err);
	check_whiteouts(root);
	check_swaps(root);
	check_specials(root);
	/* the shared checkout is read-only */
	g_autofree char *probe = g_build_filename(root, "probe", NULL);
	assert_int_equal(open(probe, O_CREAT | O_WRONLY, 0644), -1);
	assert_int_equal(errno, EROFS);
	/* a second user shares it */
	g_autofree char *again = image_store_checkout(f->store, id, &err);
	assert_string_equal(again, root);
	image_store_checkout_release(f->store, id);
	image_store_checkout_release(f->store, id);
	g_autoptr(ImageRecord) rec = image_store_lookup(f->store, id, &err);
	g_assert_no_error(err);
	assert_int_equal(g_strv_length(rec->diff_ids), 4);
	assert_true(rec->size > 0);
	assert_true(rec->created_ns > 0);
	for (int i = 0; i < 4; i++)
		test_layer_clear(&l[i]);
}

/* Entries under a path a lower layer made a symlink: like an extraction
 * onto disk, the link is followed inside the image (relative, absolute,
 * dangling: missing dirs are made), markers included. */
static const TarEntry link_base[] = {
	{'d', "run", 0755},	  {'f', "run/old", 0644, "old\n"},
	{'d', "var", 0755},	  {'l', "var/run", 0, "../run"},
	{'l', "abs", 0, "/run"},  {'l', "dangling", 0, "/nowhere/x"},
	{'l', "loop", 0, "loop"}, {'f', "plain", 0644, "a file\n"},
};

static const TarEntry link_upper[] = {
	{'f', "var/run/new.txt", 0644, "new\n"},
	{'f', "var/run/.wh.old", 0644, ""},
	{'f', "abs/via-abs", 0644, "y\n"},
	{'f', "dangling/d.txt", 0644, "d\n"},
	{'f', "loop/in-loop", 0644, "l\n"},
	{'f', "plain/sub", 0644, "z\n"},
};

static void test_flatten_symlink_parents(void **state)
{
	Fixture *f = *state;
	TestLayer a = test_layer(link_base, G_N_ELEMENTS(link_base), TAR_GZIP);
	TestLayer b =
		test_layer(link_upper, G_N_ELEMENTS(link_upper), TAR_PLAIN);
	import_ok(f->store, &a);
	import_ok(f->store, &b);
	char *ids[] = {a.diff_id, b.diff_id, NULL};
	g_autofree char *id = NULL;
	commit_ok(f->store, "links", NULL, ids, &id);
	g_autofree char *root = image_store_checkout(f->store, id, NULL);
	struct stat st;
	assert_true(lstat_at(root, "var/run", &st));
	assert_true(S_ISLNK(st.st_mode));
	assert_text(root, "run/new.txt", "new\n");
	assert_absent(root, "run/old");
	assert_text(root, "run/via-abs", "y\n");
	assert_text(root, "nowhere/x/d.txt", "d\n");
	assert_mode(root, "nowhere/x", 0755, 0, 0);
	/* a link loop and a plain file give way to a directory */
	assert_text(root, "loop/in-loop", "l\n");
	assert_text(root, "plain/sub", "z\n");
	image_store_checkout_release(f->store, id);
	test_layer_clear(&a);
	test_layer_clear(&b);
}

/* --- import ------------------------------------------------------------ */

static const TarEntry small_entries[] = {
	{'d', "bin", 0755},
	{'f', "bin/tool", 0755, "#!/bin/sh\n"},
};

static void test_import_mismatch(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_GZIP);
	const char *wrong = "sha256:"
			    "0000000000000000000000000000000000000000000000000"
			    "000000000000000";
	g_autoptr(GError) err = NULL;
	assert_false(import_blob(f->store, wrong, l.blob, &err));
	assert_int_equal(err->code, BERTH_ERROR_DATA_LOSS);
	assert_non_null(strstr(err->message, "digest mismatch"));
	assert_false(image_store_has_layer(f->store, wrong));
	assert_int_equal(count_refs(f), 0);
	/* truncated stream: the first half of a gzip */
	gsize len;
	const guint8 *d = g_bytes_get_data(l.blob, &len);
	g_autoptr(GBytes) half = g_bytes_new(d, len / 2);
	g_clear_error(&err);
	assert_false(import_blob(f->store, l.diff_id, half, &err));
	assert_int_equal(err->code, BERTH_ERROR_DATA_LOSS);
	assert_false(image_store_has_layer(f->store, l.diff_id));
	/* garbage */
	g_autoptr(GBytes) junk = g_bytes_new_static("not a tar at all", 16);
	g_clear_error(&err);
	assert_false(import_blob(f->store, l.diff_id, junk, &err));
	assert_int_equal(count_refs(f), 0);
	reopen(f);
	assert_false(image_store_has_layer(f->store, l.diff_id));
	/* and the real thing still imports */
	import_ok(f->store, &l);
	g_autofree char *ref = g_strconcat("berth/layer/", l.diff_id + 7, NULL);
	assert_true(repo_has_ref(f, ref));
	test_layer_clear(&l);
}

typedef struct {
	ImageStore *store;
	const char *diff_id;
	GBytes *blob;
	guint delay_ms;
	gboolean ok;
} ImportJob;

static gpointer import_job(gpointer p)
{
	ImportJob *j = p;
	GThread *t;
	int fd = pipe_feed(j->blob, j->delay_ms, &t);
	j->ok = image_store_import_layer_fd(j->store, j->diff_id, fd, NULL);
	close(fd);
	g_thread_join(t);
	return NULL;
}

static void test_import_concurrent(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_PLAIN);
	ImportJob a = {f->store, l.diff_id, l.blob, 300, FALSE};
	ImportJob b = {f->store, l.diff_id, l.blob, 0, FALSE};
	GThread *ta = g_thread_new("a", import_job, &a);
	g_usleep(100 * 1000);
	GThread *tb = g_thread_new("b", import_job, &b);
	g_thread_join(ta);
	g_thread_join(tb);
	assert_true(a.ok);
	assert_true(b.ok);
	assert_int_equal(f->store->imports_done, 1);

	/* the first importer fails: the waiter takes over with its stream */
	TestLayer m = test_layer(base_entries, 3, TAR_GZIP);
	g_autoptr(GBytes) bad = g_bytes_new_static("\x1f\x8b garbage....", 14);
	ImportJob c = {f->store, m.diff_id, bad, 300, FALSE};
	ImportJob d = {f->store, m.diff_id, m.blob, 0, FALSE};
	GThread *tc = g_thread_new("c", import_job, &c);
	g_usleep(100 * 1000);
	GThread *td = g_thread_new("d", import_job, &d);
	g_thread_join(tc);
	g_thread_join(td);
	assert_false(c.ok);
	assert_true(d.ok);
	assert_true(image_store_has_layer(f->store, m.diff_id));
	assert_int_equal(f->store->imports_done, 3);
	test_layer_clear(&l);
	test_layer_clear(&m);
}

/* --- names, lookup, removal ----------------------------------------------- */

static void add_names(ImageStore *s, const char *id, const char *tag,
		      const char *digest)
{
	char *tags[] = {(char *)tag, NULL};
	char *digests[] = {(char *)digest, NULL};
	g_autoptr(ImageRecord) cur = image_store_lookup(s, id, NULL);
	ImageRecord rec = *cur;
	rec.repo_tags = tag ? tags : NULL;
	rec.repo_digests = digest ? digests : NULL;
	g_autoptr(GError) err = NULL;
	assert_true(image_store_commit_image(s, &rec, &err));
}

#define DIG1 "docker.io/library/a@sha256:" D64

static void test_tags_move(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_GZIP);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	g_autofree char *a = NULL, *b = NULL;
	commit_ok(f->store, "a", "docker.io/library/a:1", ids, &a);
	add_names(f->store, a, "docker.io/library/a:latest", DIG1);
	commit_ok(f->store, "b", "docker.io/library/a:latest", ids, &b);

	g_autoptr(ImageRecord) ra = image_store_lookup(f->store, a, NULL);
	assert_int_equal(g_strv_length(ra->repo_tags), 1);
	assert_string_equal(ra->repo_tags[0], "docker.io/library/a:1");
	assert_string_equal(ra->repo_digests[0], DIG1);
	g_autoptr(ImageRecord) rl = image_store_lookup(
		f->store, "docker.io/library/a:latest", NULL);
	assert_string_equal(rl->id, b);
	g_autoptr(ImageRecord) rd = image_store_lookup(f->store, DIG1, NULL);
	assert_string_equal(rd->id, a);

	/* a loses its last tag but keeps its digest, then loses that too */
	commit_ok(f->store, "b", "docker.io/library/a:1", ids, NULL);
	add_names(f->store, b, NULL, DIG1);
	g_autoptr(ImageRecord) dangling = image_store_lookup(f->store, a, NULL);
	assert_non_null(dangling);
	assert_int_equal(g_strv_length(dangling->repo_tags), 0);
	assert_int_equal(g_strv_length(dangling->repo_digests), 0);
	g_autoptr(GPtrArray) all = image_store_list(f->store);
	assert_int_equal(all->len, 2);

	/* idempotent commit merges names */
	commit_ok(f->store, "b", "docker.io/library/b:x", ids, NULL);
	g_autoptr(ImageRecord) rb = image_store_lookup(f->store, b, NULL);
	assert_int_equal(g_strv_length(rb->repo_tags), 3);
	reopen(f);
	g_autoptr(ImageRecord) again =
		image_store_lookup(f->store, "docker.io/library/b:x", NULL);
	assert_string_equal(again->id, b);
	assert_int_equal(g_strv_length(again->repo_tags), 3);
	test_layer_clear(&l);
}

static void test_lookup_forms(void **state)
{
	Fixture *f = *state;
	/* images without layers are cheap: find two whose ids share a
	 * 3-digit prefix */
	g_autoptr(GHashTable) seen =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_autofree char *x = NULL, *y = NULL;
	char *none[] = {NULL};
	for (int i = 0; x == NULL; i++) {
		g_autofree char *salt = g_strdup_printf("u%d", i);
		g_autofree char *cfg = test_config(salt, none);
		g_autofree char *id =
			digest_compute(DIGEST_SHA256, cfg, strlen(cfg));
		g_autofree char *p3 = g_strndup(id + 7, 3);
		const char *other = g_hash_table_lookup(seen, p3);
		if (other != NULL) {
			commit_ok(f->store, other, NULL, none, &x);
			commit_ok(f->store, salt, "quay.io/x/y:z", none, &y);
		} else {
			g_hash_table_insert(seen, g_strdup(p3), g_strdup(salt));
		}
	}
	g_autoptr(GError) err = NULL;
	g_autofree char *p3 = g_strndup(x + 7, 3);
	assert_null(image_store_lookup(f->store, p3, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	g_autofree char *p12 = g_strndup(y + 7, 12);
	g_autofree char *p12s = g_strndup(y, 19);
	const char *forms[] = {y, y + 7, p12, p12s, "quay.io/x/y:z"};
	for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
		g_autoptr(ImageRecord) r =
			image_store_lookup(f->store, forms[i], NULL);
		if (r == NULL)
			fail_msg("lookup %s failed", forms[i]);
		assert_string_equal(r->id, y);
	}
	const char *absent[] = {"ab", "quay.io/x/y:other", "sha256:zzz",
				"docker.io/library/nope:latest"};
	for (gsize i = 0; i < G_N_ELEMENTS(absent); i++) {
		g_clear_error(&err);
		assert_null(image_store_lookup(f->store, absent[i], &err));
		assert_int_equal(err->code, BERTH_ERROR_NOT_FOUND);
	}
	/* an image with no layers has an empty root */
	g_autofree char *root = image_store_checkout(f->store, x, NULL);
	assert_non_null(root);
	assert_mode(root, "", 0755, 0, 0);
	image_store_checkout_release(f->store, x);
}

static gboolean in_use_always(const char *id, void *data)
{
	(void)id;
	(*(int *)data)++;
	return TRUE;
}

static void test_remove(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_GZIP);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	g_autofree char *a = NULL;
	commit_ok(f->store, "a", "docker.io/library/a:1", ids, &a);
	add_names(f->store, a, "quay.io/other/name:2", DIG1);
	g_autofree char *root = image_store_checkout(f->store, a, NULL);
	image_store_checkout_release(f->store, a);
	assert_true(exists_at(root, "bin/tool"));

	int calls = 0;
	g_autoptr(GError) err = NULL;
	image_store_set_in_use_check(f->store, in_use_always, &calls);
	assert_false(
		image_store_remove(f->store, "quay.io/other/name:2", &err));
	assert_int_equal(err->code, BERTH_ERROR_FAILED_PRECONDITION);
	assert_int_equal(calls, 1);
	image_store_set_in_use_check(f->store, NULL, NULL);

	assert_true(image_store_remove(f->store, "quay.io/other/name:2", NULL));
	const char *names[] = {a, "docker.io/library/a:1", DIG1,
			       "quay.io/other/name:2"};
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
		assert_null(image_store_lookup(f->store, names[i], NULL));
	g_autoptr(GPtrArray) all = image_store_list(f->store);
	assert_int_equal(all->len, 0);
	assert_false(g_file_test(root, G_FILE_TEST_EXISTS));
	g_autofree char *ref = g_strconcat("berth/image/", a + 7, NULL);
	assert_false(repo_has_ref(f, ref));
	/* idempotent */
	assert_true(image_store_remove(f->store, a, NULL));
	assert_true(
		image_store_remove(f->store, "docker.io/library/a:1", NULL));
	test_layer_clear(&l);
}

static guint count_objects(Fixture *f)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(f->store, NULL);
	g_autoptr(GHashTable) objs = NULL;
	g_assert_true(ostree_repo_list_objects(
		repo, OSTREE_REPO_LIST_OBJECTS_ALL, &objs, NULL, NULL));
	return g_hash_table_size(objs);
}

static const TarEntry only_a[] = {{'f', "only-a.txt", 0644, "only a\n"}};
static const TarEntry only_b[] = {{'f', "only-b.txt", 0644, "only b\n"}};

static void test_prune(void **state)
{
	Fixture *f = *state;
	TestLayer base = test_layer(small_entries, 2, TAR_GZIP);
	TestLayer la = test_layer(only_a, 1, TAR_GZIP);
	TestLayer lb = test_layer(only_b, 1, TAR_GZIP);
	TestLayer orphan = test_layer(base_entries, 5, TAR_PLAIN);
	import_ok(f->store, &base);
	import_ok(f->store, &la);
	import_ok(f->store, &lb);
	char *ids_a[] = {base.diff_id, la.diff_id, NULL};
	char *ids_b[] = {base.diff_id, lb.diff_id, NULL};
	g_autofree char *a = NULL, *b = NULL;
	commit_ok(f->store, "a", "docker.io/library/a:1", ids_a, &a);
	commit_ok(f->store, "b", "docker.io/library/b:1", ids_b, &b);
	/* imported but not yet committed: the grace period keeps it */
	import_ok(f->store, &orphan);
	guint before = count_objects(f);
	assert_true(image_store_remove(f->store, a, NULL));
	assert_false(image_store_has_layer(f->store, la.diff_id));
	assert_true(image_store_has_layer(f->store, base.diff_id));
	assert_true(image_store_has_layer(f->store, lb.diff_id));
	assert_true(image_store_has_layer(f->store, orphan.diff_id));
	assert_true(count_objects(f) < before);
	/* without a grace period it goes too */
	image_store_set_layer_grace(f->store, 0);
	assert_true(image_store_remove(f->store, a, NULL)); /* no-op */
	assert_true(image_store_has_layer(f->store, orphan.diff_id));
	assert_true(image_store_remove(f->store, b, NULL));
	assert_false(image_store_has_layer(f->store, orphan.diff_id));
	assert_false(image_store_has_layer(f->store, base.diff_id));
	assert_int_equal(count_refs(f), 0);
	ImageFsUsage u;
	image_store_usage(f->store, &u);
	assert_true(u.inodes_used > 0);
	assert_non_null(u.mountpoint);
	image_fs_usage_clear(&u);
	test_layer_clear(&base);
	test_layer_clear(&la);
	test_layer_clear(&lb);
	test_layer_clear(&orphan);
}

typedef struct {
	ImageStore *store;
	const TestLayer *base;
	TestLayer own;
	int n;
	gboolean ok;
} Churn;

static gboolean churn_once(Churn *c, int round)
{
	if (!import_blob(c->store, c->base->diff_id, c->base->blob, NULL) ||
	    !import_blob(c->store, c->own.diff_id, c->own.blob, NULL))
		return FALSE;
	char *ids[] = {c->base->diff_id, c->own.diff_id, NULL};
	g_autofree char *salt = g_strdup_printf("w%d-%d", c->n, round);
	g_autofree char *tag = g_strdup_printf("docker.io/library/w:%d", c->n);
	g_autofree char *id = NULL;
	commit_ok(c->store, salt, tag, ids, &id);
	g_autofree char *root = image_store_checkout(c->store, id, NULL);
	if (root == NULL || !exists_at(root, "bin/tool"))
		return FALSE;
	image_store_checkout_release(c->store, id);
	return image_store_remove(c->store, tag, NULL);
}

static gpointer churn_thread(gpointer p)
{
	Churn *c = p;
	c->ok = TRUE;
	for (int round = 0; round < 4 && c->ok; round++)
		c->ok = churn_once(c, round);
	return NULL;
}

/* Pulls, checkouts and removals of images sharing a base layer, in
 * parallel with lists: no operation fails, and in the end nothing is
 * left (every claim was consumed by a commit). */
static void test_concurrent_churn(void **state)
{
	Fixture *f = *state;
	TestLayer base = test_layer(small_entries, 2, TAR_GZIP);
	Churn c[4];
	GThread *t[4];
	for (int i = 0; i < 4; i++) {
		g_autofree char *body = g_strdup_printf("worker %d\n", i);
		TarEntry e[] = {{'f', "own.txt", 0644, body}};
		c[i] = (Churn){f->store, &base, test_layer(e, 1, TAR_ZSTD), i};
		t[i] = g_thread_new("churn", churn_thread, &c[i]);
	}
	for (int i = 0; i < 200; i++) {
		g_autoptr(GPtrArray) all = image_store_list(f->store);
		for (guint j = 0; j < all->len; j++) {
			ImageRecord *r = all->pdata[j];
			g_autoptr(ImageRecord) again =
				image_store_lookup(f->store, r->id, NULL);
		}
	}
	for (int i = 0; i < 4; i++) {
		g_thread_join(t[i]);
		assert_true(c[i].ok);
		test_layer_clear(&c[i].own);
	}
	g_autoptr(GPtrArray) all = image_store_list(f->store);
	assert_int_equal(all->len, 0);
	assert_int_equal(count_refs(f), 0);
	test_layer_clear(&base);
}

/* --- reopen and recovery ----------------------------------------------------
 */

static char *meta_file(Fixture *f, const char *id)
{
	g_autofree char *name = g_strconcat(id + 7, ".json", NULL);
	return g_build_filename(f->store->images_dir, name, NULL);
}

static void test_reopen(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_ZSTD);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	g_autofree char *a = NULL;
	commit_ok(f->store, "a", "docker.io/library/a:1", ids, &a);
	ImageFsUsage u1;
	image_store_usage(f->store, &u1);
	reopen(f);
	g_autoptr(GPtrArray) all = image_store_list(f->store);
	assert_int_equal(all->len, 1);
	ImageRecord *r = all->pdata[0];
	assert_string_equal(r->id, a);
	assert_string_equal(r->repo_tags[0], "docker.io/library/a:1");
	assert_string_equal(r->user, "a");
	assert_null(r->config_json); /* lists skip it, lookups have it */
	g_autoptr(ImageRecord) full = image_store_lookup(f->store, a, NULL);
	assert_non_null(strstr(full->config_json, "\"diff_ids\""));
	assert_true(image_store_has_layer(f->store, l.diff_id));
	g_autofree char *root = image_store_checkout(f->store, a, NULL);
	assert_text(root, "bin/tool", "#!/bin/sh\n");
	image_store_checkout_release(f->store, a);
	/* a checkout survives a restart */
	reopen(f);
	assert_true(exists_at(root, "bin/tool"));
	ImageFsUsage u2;
	image_store_usage(f->store, &u2);
	assert_true(u2.used_bytes >= u1.used_bytes);
	image_fs_usage_clear(&u1);
	image_fs_usage_clear(&u2);
	test_layer_clear(&l);
}

static void test_recover_half_made(void **state)
{
	Fixture *f = *state;
	TestLayer l = test_layer(small_entries, 2, TAR_GZIP);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	g_autofree char *a = NULL, *b = NULL, *c = NULL;
	commit_ok(f->store, "a", "docker.io/library/a:1", ids, &a);
	commit_ok(f->store, "b", "docker.io/library/b:1", ids, &b);
	commit_ok(f->store, "c", "docker.io/library/c:1", ids, &c);
	/* a: metadata without a ref; b: a ref without metadata */
	g_autoptr(OstreeRepo) repo = image_store_repo_open(f->store, NULL);
	g_autofree char *ref_a = g_strconcat("berth/image/", a + 7, NULL);
	g_autofree char *ref_b = g_strconcat("berth/image/", b + 7, NULL);
	g_autofree char *ref_c = g_strconcat("berth/image/", c + 7, NULL);
	g_autofree char *commit_c = NULL;
	assert_true(
		ostree_repo_resolve_rev(repo, ref_c, FALSE, &commit_c, NULL));
	assert_true(ostree_repo_set_ref_immediate(repo, NULL, ref_a, NULL, NULL,
						  NULL));
	g_autofree char *meta_b = meta_file(f, b);
	assert_int_equal(unlink(meta_b), 0);
	/* a layer ref that is no complete layer, leftover tmp files */
	g_autofree char *bogus = g_strconcat("berth/layer/", D64, NULL);
	assert_true(ostree_repo_set_ref_immediate(repo, NULL, bogus, commit_c,
						  NULL, NULL));
	g_autofree char *tmp1 =
		g_build_filename(f->store->images_dir, "x.json.tmp-1-2", NULL);
	g_autofree char *tmp2 = g_build_filename(f->store->checkouts_dir,
						 ".tmp-abc", "f", NULL);
	assert_true(g_file_set_contents(tmp1, "{", 1, NULL));
	assert_true(berth_mkdir_p(f->store->checkouts_dir, 0700, NULL));
	g_autofree char *tmp2d = g_path_get_dirname(tmp2);
	assert_int_equal(mkdir(tmp2d, 0700), 0);
	assert_true(g_file_set_contents(tmp2, "x", 1, NULL));

	reopen(f);
	g_autoptr(GPtrArray) all = image_store_list(f->store);
	assert_int_equal(all->len, 1);
	assert_string_equal(((ImageRecord *)all->pdata[0])->id, c);
	g_autofree char *meta_a = meta_file(f, a);
	assert_false(g_file_test(meta_a, G_FILE_TEST_EXISTS));
	assert_false(repo_has_ref(f, ref_b));
	assert_false(repo_has_ref(f, bogus));
	assert_false(g_file_test(tmp1, G_FILE_TEST_EXISTS));
	assert_false(g_file_test(tmp2d, G_FILE_TEST_EXISTS));
	assert_true(image_store_has_layer(f->store, l.diff_id));
	g_autofree char *root = image_store_checkout(f->store, c, NULL);
	assert_text(root, "bin/tool", "#!/bin/sh\n");
	image_store_checkout_release(f->store, c);
	test_layer_clear(&l);
}

/* A crash between writing the new owner of a tag and rewriting the old
 * one leaves the tag in two files: the later write wins. */
static void test_recover_tag_conflict(void **state)
{
	Fixture *f = *state;
	char *none[] = {NULL};
	g_autofree char *a = NULL, *b = NULL;
	commit_ok(f->store, "a", "docker.io/library/t:1", none, &a);
	g_autofree char *path_a = meta_file(f, a);
	g_autofree char *old_a = NULL;
	assert_true(g_file_get_contents(path_a, &old_a, NULL, NULL));
	commit_ok(f->store, "b", "docker.io/library/t:1", none, &b);
	assert_true(g_file_set_contents(path_a, old_a, -1, NULL));
	reopen(f);
	g_autoptr(ImageRecord) r =
		image_store_lookup(f->store, "docker.io/library/t:1", NULL);
	assert_string_equal(r->id, b);
	g_autoptr(ImageRecord) ra = image_store_lookup(f->store, a, NULL);
	assert_int_equal(g_strv_length(ra->repo_tags), 0);
	g_autofree char *now_a = NULL;
	assert_true(g_file_get_contents(path_a, &now_a, NULL, NULL));
	assert_null(strstr(now_a, "t:1"));
}

static void test_bad_records(void **state)
{
	Fixture *f = *state;
	g_autoptr(GError) err = NULL;
	char *missing[] = {"sha256:" D64, NULL};
	ImageRecord rec = {.id = "sha256:" D64, .diff_ids = missing};
	assert_false(image_store_commit_image(f->store, &rec, &err));
	assert_int_equal(err->code, BERTH_ERROR_NOT_FOUND);
	rec.config_json = "{}";
	g_clear_error(&err);
	assert_false(image_store_commit_image(f->store, &rec, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	/* a config that lists other layers than the record */
	g_autofree char *cfg = test_config("m", missing);
	g_autofree char *cfg_id =
		digest_compute(DIGEST_SHA256, cfg, strlen(cfg));
	ImageRecord rec3 = {.id = cfg_id, .config_json = cfg};
	g_clear_error(&err);
	assert_false(image_store_commit_image(f->store, &rec3, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	assert_non_null(strstr(err->message, "diff_ids differ"));
	char *bad_tags[] = {"no-tag-here", NULL};
	ImageRecord rec2 = {.id = "sha256:" D64, .repo_tags = bad_tags};
	g_clear_error(&err);
	assert_false(image_store_commit_image(f->store, &rec2, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	g_clear_error(&err);
	assert_false(
		image_store_import_layer_fd(f->store, "sha256:xyz", -1, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	assert_int_equal(count_refs(f), 0);
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_image_store: needs root, skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	berth_log_set_level(BERTH_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_flatten_stack, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flatten_symlink_parents,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_mismatch, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_import_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tags_move, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_lookup_forms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_churn, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_half_made, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_recover_tag_conflict,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_records, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
