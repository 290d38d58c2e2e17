/* image/flatten.c against an independent implementation: the fixture
 * images of tests/fixtures/images.py (whiteouts, an opaque dir, dir<->file
 * swaps, setuid, xattrs, hard and symbolic links) are imported from their
 * OCI layouts, flattened and checked out, and the tree is compared with
 * what `umoci unpack` makes of the same layout. Needs root, python3,
 * busybox and umoci; run from the repository root; skipped otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>

#include "image/manifest.h"
#include "tests/unit/store-helpers.h"
#include "util/log.h"

#define FIXTURES "tests/fixtures/images.py"
#define UMOCI "/usr/bin/umoci"
#define PYTHON "/usr/bin/python3"

typedef struct {
	char *dir;
	ImageStore *store;
} Fixture;

static char *layouts; /* built once for the whole file */

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

static gboolean run(char **argv)
{
	g_autoptr(GError) err = NULL;
	int status = 0;
	g_autofree char *out = NULL, *errout = NULL;
	if (!g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
			  &errout, &status, &err)) {
		fprintf(stderr, "%s: %s\n", argv[0], err->message);
		return FALSE;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		fprintf(stderr, "%s failed: %s\n", argv[0], errout);
		return FALSE;
	}
	return TRUE;
}

static char *blob_path(const char *layout, const char *digest)
{
	return g_build_filename(layout, "blobs", "sha256", digest + 7, NULL);
}

static char *read_blob(const char *layout, const char *digest, gsize *len)
{
	g_autofree char *p = blob_path(layout, digest);
	char *body = NULL;
	g_assert_true(g_file_get_contents(p, &body, len, NULL));
	return body;
}

/* Import and commit the layout's single image; its id. */
static char *import_layout(Fixture *f, const char *layout)
{
	gsize len;
	g_autofree char *ipath = g_build_filename(layout, "index.json", NULL);
	g_autofree char *ibody = NULL;
	g_assert_true(g_file_get_contents(ipath, &ibody, &len, NULL));
	g_autoptr(ImageIndex) index = NULL;
	g_assert_true(image_index_parse(ibody, len, NULL, &index, NULL));
	ImageIndexEntry *top = index->manifests->pdata[0];
	g_autofree char *mbody = read_blob(layout, top->desc.digest, &len);
	g_autoptr(ImageManifest) m = NULL;
	g_assert_true(image_manifest_parse(mbody, len, NULL, &m, NULL));
	g_autofree char *cbody = read_blob(layout, m->config.digest, &len);
	g_autoptr(ImageConfig) config = NULL;
	g_assert_true(image_config_parse(cbody, len, &config, NULL));
	for (guint i = 0; i < m->layers->len; i++) {
		ImageLayer *l = m->layers->pdata[i];
		g_autofree char *p = blob_path(layout, l->desc.digest);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		g_autoptr(GError) err = NULL;
		if (!image_store_import_layer_fd(f->store, config->diff_ids[i],
						 fd, &err))
			fail_msg("import %s: %s", p, err->message);
		close(fd);
	}
	ImageRecord rec = {
		.id = m->config.digest,
		.diff_ids = config->diff_ids,
		.config_json = cbody,
		.manifest_digest = top->desc.digest,
	};
	g_autoptr(GError) err = NULL;
	if (!image_store_commit_image(f->store, &rec, &err))
		fail_msg("commit: %s", err->message);
	return g_strdup(m->config.digest);
}

/* --- tree comparison ----------------------------------------------------- */

static gint cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static GStrv sorted_names(const char *dir)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *n;
	while (d != NULL && (n = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(n));
	g_ptr_array_sort(names, cmp_str);
	g_ptr_array_add(names, NULL);
	return (GStrv)g_ptr_array_free(g_steal_pointer(&names), FALSE);
}

static char *user_xattrs(const char *path)
{
	char list[4096];
	ssize_t n = llistxattr(path, list, sizeof list);
	GString *out = g_string_new("");
	g_autoptr(GPtrArray) names = g_ptr_array_new();
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(list + i) + 1)
		if (g_str_has_prefix(list + i, "user."))
			g_ptr_array_add(names, list + i);
	g_ptr_array_sort(names, cmp_str);
	for (guint i = 0; i < names->len; i++) {
		char val[256] = {0};
		lgetxattr(path, names->pdata[i], val, sizeof val - 1);
		g_string_append_printf(out, "%s=%s;", (char *)names->pdata[i],
				       val);
	}
	return g_string_free(out, FALSE);
}

static void compare_entry(const char *ours, const char *theirs, const char *rel)
{
	struct stat a, b;
	assert_int_equal(lstat(ours, &a), 0);
	assert_int_equal(lstat(theirs, &b), 0);
	if (a.st_mode != b.st_mode || a.st_uid != b.st_uid ||
	    a.st_gid != b.st_gid)
		fail_msg("/%s: ours %o %u:%u, umoci %o %u:%u", rel, a.st_mode,
			 a.st_uid, a.st_gid, b.st_mode, b.st_uid, b.st_gid);
	g_autofree char *xa = user_xattrs(ours);
	g_autofree char *xb = user_xattrs(theirs);
	if (strcmp(xa, xb) != 0)
		fail_msg("/%s: xattrs %s vs %s", rel, xa, xb);
	if (S_ISLNK(a.st_mode)) {
		g_autofree char *ta = g_file_read_link(ours, NULL);
		g_autofree char *tb = g_file_read_link(theirs, NULL);
		assert_string_equal(ta, tb);
	} else if (S_ISREG(a.st_mode)) {
		g_autofree char *ca = NULL, *cb = NULL;
		gsize la = 0, lb = 0;
		assert_true(g_file_get_contents(ours, &ca, &la, NULL));
		assert_true(g_file_get_contents(theirs, &cb, &lb, NULL));
		if (la != lb || memcmp(ca, cb, la) != 0)
			fail_msg("/%s: contents differ", rel);
	}
}

/* Files umoci unpacked as one inode must be one inode in ours too (ours
 * may share more: ostree stores identical files once). */
static void compare_links(GHashTable *inodes, const char *ours,
			  const char *theirs, const char *rel)
{
	struct stat a, b;
	assert_int_equal(lstat(ours, &a), 0);
	assert_int_equal(lstat(theirs, &b), 0);
	if (!S_ISREG(b.st_mode) || b.st_nlink < 2)
		return;
	gpointer key = GSIZE_TO_POINTER(b.st_ino);
	gpointer first = g_hash_table_lookup(inodes, key);
	if (first == NULL) {
		g_hash_table_insert(inodes, key, GSIZE_TO_POINTER(a.st_ino));
		return;
	}
	if (GPOINTER_TO_SIZE(first) != a.st_ino)
		fail_msg("/%s: hardlink lost", rel);
}

static guint compare_trees(const char *ours, const char *theirs,
			   const char *rel, GHashTable *inodes)
{
	g_auto(GStrv) na = sorted_names(ours);
	g_auto(GStrv) nb = sorted_names(theirs);
	g_autofree char *ja = g_strjoinv(" ", na);
	g_autofree char *jb = g_strjoinv(" ", nb);
	if (strcmp(ja, jb) != 0)
		fail_msg("/%s: entries differ\n  ours:  %s\n  umoci: %s", rel,
			 ja, jb);
	guint count = 0;
	for (char **n = na; *n != NULL; n++) {
		g_autofree char *pa = g_build_filename(ours, *n, NULL);
		g_autofree char *pb = g_build_filename(theirs, *n, NULL);
		g_autofree char *r =
			*rel ? g_strconcat(rel, "/", *n, NULL) : g_strdup(*n);
		compare_entry(pa, pb, r);
		compare_links(inodes, pa, pb, r);
		count++;
		if (g_file_test(pa, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(pa, G_FILE_TEST_IS_SYMLINK))
			count += compare_trees(pa, pb, r, inodes);
	}
	return count;
}

static void compare_with_umoci(void **state, const char *image)
{
	Fixture *f = *state;
	g_autofree char *layout = g_build_filename(layouts, image, NULL);
	g_autofree char *id = import_layout(f, layout);
	g_autofree char *ours = image_store_checkout(f->store, id, NULL);
	assert_non_null(ours);
	g_autofree char *bundle = g_build_filename(f->dir, "bundle", NULL);
	g_autofree char *ref = g_strconcat(layout, ":latest", NULL);
	char *argv[] = {UMOCI, "unpack", "--image", ref, bundle, NULL};
	assert_true(run(argv));
	g_autofree char *theirs = g_build_filename(bundle, "rootfs", NULL);
	g_autoptr(GHashTable) inodes = g_hash_table_new(NULL, NULL);
	compare_entry(ours, theirs, "");
	guint n = compare_trees(ours, theirs, "", inodes);
	assert_true(n >= 9);
	image_store_checkout_release(f->store, id);
}

static void test_layers_image(void **state)
{
	compare_with_umoci(state, "layers");
}

static void test_busybox_image(void **state)
{
	compare_with_umoci(state, "busybox");
}

static void test_symlinks_image(void **state)
{
	compare_with_umoci(state, "symlinks");
}

/* One more layout, built with the fixture module's helpers: entries below
 * paths that a lower layer made symlinks (relative, absolute, dangling). */
static const char symlinks_script[] =
	"import sys; sys.path.insert(0, 'tests/fixtures'); import images as I\n"
	"l1 = I.make_layer('l1', [I.d('run'), I.f('run/old', 'old'),\n"
	"    I.d('var'), I.sym('var/run', '../run'), I.sym('abs', '/run'),\n"
	"    I.sym('dangling', '/nowhere/x')])\n"
	"l2 = I.make_layer('l2', [I.f('var/run/new.txt', 'new'),\n"
	"    I.f('var/run/.wh.old', ''), I.f('abs/via-abs', 'y'),\n"
	"    I.f('dangling/d.txt', 'd')])\n"
	"I.single_image(sys.argv[1], 'symlinks', [l1, l2])\n";

static gboolean build_fixtures(void)
{
	if (!g_file_test(FIXTURES, G_FILE_TEST_EXISTS) ||
	    !g_file_test(UMOCI, G_FILE_TEST_IS_EXECUTABLE) ||
	    !g_file_test(PYTHON, G_FILE_TEST_IS_EXECUTABLE) ||
	    !g_file_test("/bin/busybox", G_FILE_TEST_EXISTS))
		return FALSE;
	layouts = scratch_dir();
	g_autofree char *out = g_build_filename(layouts, "layouts", NULL);
	char *argv[] = {PYTHON, FIXTURES, out, NULL};
	char *argv2[] = {PYTHON, "-c", (char *)symlinks_script, out, NULL};
	if (!run(argv) || !run(argv2))
		return FALSE;
	g_free(layouts);
	layouts = g_steal_pointer(&out);
	return TRUE;
}

int main(void)
{
	if (geteuid() != 0 || !build_fixtures()) {
		fprintf(stderr,
			"test_image_flatten: needs root, umoci, python3, "
			"busybox and the repo root as cwd; skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	berth_log_set_level(BERTH_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layers_image, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_busybox_image, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_symlinks_image, setup,
						teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_autofree char *top = g_path_get_dirname(layouts);
	scratch_remove(g_steal_pointer(&top));
	g_free(layouts);
	return rc;
}
