/* Unit tests for config/toml.c: valid documents checked value by value,
 * invalid ones checked for the exact "file:line:col:" of the complaint,
 * positions, non-terminated input, and toml_quote_string round trips. */
#include "config/toml.h"
#include "util/error.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* ---- helpers ------------------------------------------------------------ */

static TomlValue *parse_at(const char *text, gsize len, const char *file,
			   int line)
{
	g_autoptr(GError) error = NULL;
	/* An exact-size copy, so reading past len trips the sanitizers. */
	g_autofree char *copy = g_memdup2(text, len);
	TomlValue *v = toml_parse(copy, len, "t.toml", &error);
	if (v == NULL) {
		print_error("unexpected parse error: %s\n", error->message);
		_fail(file, line);
	}
	return v;
}
#define PARSE(text) parse_at((text), strlen(text), __FILE__, __LINE__)

/* The value at a path of bare keys and [index]es, e.g. "a.b[2].c". */
static const TomlValue *lookup_at(const TomlValue *v, const char *path,
				  const char *file, int line)
{
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);
	for (char **p = parts; *p != NULL; p++) {
		const char *br = strchr(*p, '[');
		g_autofree char *name = g_strndup(
			*p, br != NULL ? (gsize)(br - *p) : strlen(*p));
		if (*name != '\0') {
			if (toml_type(v) != TOML_TABLE ||
			    (v = toml_table_get(v, name)) == NULL) {
				print_error("no key %s on the way to %s\n",
					    name, path);
				_fail(file, line);
			}
		}
		for (; br != NULL; br = strchr(br + 1, '[')) {
			guint i = (guint)atoi(br + 1);
			if (toml_type(v) != TOML_ARRAY ||
			    i >= toml_array_len(v)) {
				print_error("no item %u in %s\n", i, path);
				_fail(file, line);
			}
			v = toml_array_get(v, i);
		}
	}
	return v;
}
#define AT(root, path) lookup_at((root), (path), __FILE__, __LINE__)

static void check_type(const TomlValue *v, TomlType want, const char *path,
		       const char *file, int line)
{
	if (toml_type(v) != want) {
		print_error("%s is a %s, want a %s\n", path,
			    toml_type_name(toml_type(v)), toml_type_name(want));
		_fail(file, line);
	}
}

static void check_str(const TomlValue *root, const char *path, TomlType type,
		      const char *want, const char *file, int line)
{
	const TomlValue *v = lookup_at(root, path, file, line);
	check_type(v, type, path, file, line);
	_assert_string_equal(toml_string(v), want, file, line);
}
#define CHECK_STR(root, path, want)                                            \
	check_str((root), (path), TOML_STRING, (want), __FILE__, __LINE__)
#define CHECK_DATETIME(root, path, want)                                       \
	check_str((root), (path), TOML_DATETIME, (want), __FILE__, __LINE__)

static void check_int(const TomlValue *root, const char *path, gint64 want,
		      const char *file, int line)
{
	const TomlValue *v = lookup_at(root, path, file, line);
	check_type(v, TOML_INTEGER, path, file, line);
	if (toml_integer(v) != want) {
		print_error("%s = %" G_GINT64_FORMAT ", want %" G_GINT64_FORMAT
			    "\n",
			    path, toml_integer(v), want);
		_fail(file, line);
	}
}
#define CHECK_INT(root, path, want)                                            \
	check_int((root), (path), (want), __FILE__, __LINE__)

static void check_float(const TomlValue *root, const char *path, double want,
			const char *file, int line)
{
	const TomlValue *v = lookup_at(root, path, file, line);
	check_type(v, TOML_FLOAT, path, file, line);
	double got = toml_float(v);
	gboolean same =
		isnan(want) ? isnan(got)
			    : got == want && !!signbit(got) == !!signbit(want);
	if (!same) {
		print_error("%s = %.17g, want %.17g\n", path, got, want);
		_fail(file, line);
	}
}
#define CHECK_FLOAT(root, path, want)                                          \
	check_float((root), (path), (want), __FILE__, __LINE__)

static void check_bool(const TomlValue *root, const char *path, gboolean want,
		       const char *file, int line)
{
	const TomlValue *v = lookup_at(root, path, file, line);
	check_type(v, TOML_BOOLEAN, path, file, line);
	_assert_int_equal(toml_boolean(v), want, file, line);
}
#define CHECK_BOOL(root, path, want)                                           \
	check_bool((root), (path), (want), __FILE__, __LINE__)

static void check_size(const TomlValue *root, const char *path, guint want,
		       const char *file, int line)
{
	const TomlValue *v = lookup_at(root, path, file, line);
	guint got = toml_type(v) == TOML_TABLE ? toml_table_size(v)
					       : toml_array_len(v);
	if (toml_type(v) != TOML_TABLE && toml_type(v) != TOML_ARRAY) {
		print_error("%s is a %s\n", path, toml_type_name(toml_type(v)));
		_fail(file, line);
	}
	_assert_int_equal(got, want, file, line);
}
#define CHECK_SIZE(root, path, want)                                           \
	check_size((root), (path), (want), __FILE__, __LINE__)

/* A document that must be rejected: where is "LINE:COL" and what a part of
 * the message after it. */
typedef struct {
	const char *doc;
	const char *where;
	const char *what;
} BadCase;

static void check_bad_len(const char *doc, gsize len, const char *where,
			  const char *what, const char *file, int line)
{
	g_autoptr(GError) error = NULL;
	g_autofree char *copy = g_memdup2(doc, len);
	g_autoptr(TomlValue) v = toml_parse(copy, len, "bad.toml", &error);
	g_autofree char *prefix = g_strdup_printf("bad.toml:%s: ", where);

	if (v != NULL) {
		print_error("accepted invalid document:\n%.*s\n", (int)len,
			    doc);
		_fail(file, line);
		return;
	}
	_assert_true(g_error_matches(error, BERTH_ERROR,
				     BERTH_ERROR_INVALID_ARGUMENT),
		     "INVALID_ARGUMENT", file, line);
	if (!g_str_has_prefix(error->message, prefix) ||
	    strstr(error->message + strlen(prefix), what) == NULL) {
		print_error("document:\n%.*s\ngot:  %s\nwant: %s...%s...\n",
			    (int)len, doc, error->message, prefix, what);
		_fail(file, line);
	}
}
#define CHECK_BAD_LEN(doc, len, where, what)                                   \
	check_bad_len((doc), (len), (where), (what), __FILE__, __LINE__)

static void check_bad_cases(const BadCase *cases, gsize n, const char *file,
			    int line)
{
	for (gsize i = 0; i < n; i++)
		check_bad_len(cases[i].doc, strlen(cases[i].doc),
			      cases[i].where, cases[i].what, file, line);
}
#define CHECK_BAD_CASES(cases)                                                 \
	check_bad_cases((cases), G_N_ELEMENTS(cases), __FILE__, __LINE__)

/* ---- documents and keys ------------------------------------------------- */

static void test_empty_documents(void **state)
{
	(void)state;
	const char *docs[] = {"",	 "\n\n\n",	"# only a comment",
			      "  \t \n", "\r\n# x\r\n", "\xEF\xBB\xBF"};
	for (gsize i = 0; i < G_N_ELEMENTS(docs); i++) {
		g_autoptr(TomlValue) root = PARSE(docs[i]);
		assert_int_equal(toml_type(root), TOML_TABLE);
		assert_int_equal(toml_table_size(root), 0);
		assert_int_equal(toml_line(root), 1);
		assert_int_equal(toml_col(root), 1);
	}
	g_autoptr(TomlValue) from_null = toml_parse(NULL, 0, "t.toml", NULL);
	assert_non_null(from_null);
}

static void test_comments(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("# leading comment \xE2\x9C\x93 with\ttab\n"
		      "key = \"value\"  # trailing comment\n"
		      "hash = \"# not a comment\" #comment\n"
		      "list = [ # after the bracket\n"
		      "  1, # one\n"
		      "  # a line of its own\n"
		      "  2 # two\n"
		      "] # after the array\n"
		      "[section] # after a header\n"
		      "x = 1#tight\n"
		      "#last line without newline");
	CHECK_STR(root, "key", "value");
	CHECK_STR(root, "hash", "# not a comment");
	CHECK_SIZE(root, "list", 2);
	CHECK_INT(root, "list[1]", 2);
	CHECK_INT(root, "section.x", 1);
	assert_int_equal(toml_table_size(root), 4);
}

static void test_keys(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("bare_key = 1\n"
					  "bare-key = 2\n"
					  "4711 = 3\n"
					  "\"10.0.0.1\" = 4\n"
					  "\"with space\" = 5\n"
					  "'literal' = 6\n"
					  "'has \"quotes\"' = 7\n"
					  "\"\xC3\xA9t\xC3\xA9\" = 8\n"
					  "\"\" = 9\n"
					  "a . b\t.\tc = 10\n"
					  "site.\"example.com\" = true\n"
					  "3.25 = \"float-looking key\"\n"
					  "true = \"bool-looking key\"\n"
					  "inf = \"inf key\"\n"
					  "\"\\u00FC\" = 11\n"
					  "-_- = 12\n");
	CHECK_INT(root, "bare_key", 1);
	CHECK_INT(root, "bare-key", 2);
	CHECK_INT(root, "4711", 3);
	CHECK_INT(toml_table_get(root, "10.0.0.1"), "", 4);
	CHECK_INT(toml_table_get(root, "with space"), "", 5);
	CHECK_INT(root, "literal", 6);
	CHECK_INT(toml_table_get(root, "has \"quotes\""), "", 7);
	CHECK_INT(root, "\xC3\xA9t\xC3\xA9", 8);
	CHECK_INT(toml_table_get(root, ""), "", 9);
	CHECK_INT(root, "a.b.c", 10);
	CHECK_BOOL(toml_table_get(toml_table_get(root, "site"), "example.com"),
		   "", TRUE);
	CHECK_STR(root, "3.25", "float-looking key");
	CHECK_STR(root, "true", "bool-looking key");
	CHECK_STR(root, "inf", "inf key");
	CHECK_INT(root, "\xC3\xBC", 11);
	CHECK_INT(root, "-_-", 12);
	assert_null(toml_table_get(root, "missing"));
}

static void test_key_order(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("zeta = 1\n"
					  "alpha = 2\n"
					  "mid.x = 3\n"
					  "[[list]]\n"
					  "[b]\n"
					  "[a]\n"
					  "z = 1\n"
					  "y = 2\n"
					  "x = 3\n");
	const char *want[] = {"zeta", "alpha", "mid", "list", "b", "a"};
	assert_int_equal(toml_table_size(root), G_N_ELEMENTS(want));
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		assert_string_equal(toml_table_key_at(root, i), want[i]);
	const TomlValue *a = toml_table_get(root, "a");
	assert_string_equal(toml_table_key_at(a, 0), "z");
	assert_string_equal(toml_table_key_at(a, 2), "x");
	CHECK_INT(toml_table_value_at(a, 1), "", 2);
}

/* ---- tables ------------------------------------------------------------- */

static void test_tables(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("top = 0\n"
		      "[server]\n"
		      "host = \"localhost\"\n"
		      "port = 10010\n"
		      "\n"
		      "[pod.\"name.with.dots\"]\n"
		      "kind.name = \"sandbox\"\n"
		      "[a.b.\"c d\"]\n"
		      "e = 1\n"
		      "[ f . g\t.  h ]\n"
		      "[ i . \"\xCA\x9E\" . 'l' ]\n"
		      "[x.y.z.w]\n"
		      "[x] # a super-table may come after its sub-tables\n"
		      "k = 1\n"
		      "[empty]\n"
		      "[\"\"]\n"
		      "q = 1\n");
	CHECK_INT(root, "top", 0);
	CHECK_STR(root, "server.host", "localhost");
	CHECK_INT(root, "server.port", 10010);
	const TomlValue *pod = toml_table_get(root, "pod");
	CHECK_STR(toml_table_get(pod, "name.with.dots"), "kind.name",
		  "sandbox");
	const TomlValue *ab = AT(root, "a.b");
	CHECK_INT(toml_table_get(ab, "c d"), "e", 1);
	CHECK_SIZE(root, "f.g.h", 0);
	CHECK_SIZE(root, "i.\xCA\x9E.l", 0);
	CHECK_SIZE(root, "x.y.z.w", 0);
	CHECK_INT(root, "x.k", 1);
	assert_string_equal(toml_table_key_at(AT(root, "x"), 0), "y");
	CHECK_SIZE(root, "empty", 0);
	CHECK_INT(toml_table_get(root, ""), "q", 1);
}

/* Dotted keys create tables that later headers may add sub-tables to. */
static void test_dotted_keys_and_headers(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("a.b.c = 1\n"
					  "a.b.d = 2\n"
					  "a.e = 3\n"
					  "[a.b.sub]\n"
					  "f = 4\n"
					  "[tool]\n"
					  "opt.color = \"red\"\n"
					  "opt.size.max = 9\n"
					  "[tool.opt.texture]\n"
					  "smooth = true\n"
					  "[tool.opt.size.extra]\n"
					  "[[tool.plugins]]\n"
					  "name.first = \"p1\"\n");
	CHECK_INT(root, "a.b.c", 1);
	CHECK_INT(root, "a.b.d", 2);
	CHECK_INT(root, "a.e", 3);
	CHECK_INT(root, "a.b.sub.f", 4);
	CHECK_STR(root, "tool.opt.color", "red");
	CHECK_INT(root, "tool.opt.size.max", 9);
	CHECK_BOOL(root, "tool.opt.texture.smooth", TRUE);
	CHECK_SIZE(root, "tool.opt.size.extra", 0);
	CHECK_STR(root, "tool.plugins[0].name.first", "p1");
}

static void test_array_of_tables(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("[[registry]]\n"
					  "prefix = \"docker.io\"\n"
					  "[registry.auth]\n"
					  "user = \"bob\"\n"
					  "[[registry.mirror]]\n"
					  "location = \"mirror-a.example\"\n"
					  "[[registry.mirror]]\n"
					  "location = \"mirror-b.example\"\n"
					  "insecure = true\n"
					  "\n"
					  "[[registry]] # an empty element\n"
					  "\n"
					  "[[registry]]\n"
					  "prefix = \"quay.io\"\n"
					  "[[registry.mirror]]\n"
					  "location = \"quay-mirror.example\"\n"
					  "[registry.mirror.tls]\n"
					  "verify = false\n"
					  "[[ spaced . aot ]]\n"
					  "[[implicit.arr]]\n"
					  "x = 1\n"
					  "[implicit]\n"
					  "y = 2\n");
	CHECK_SIZE(root, "registry", 3);
	CHECK_STR(root, "registry[0].prefix", "docker.io");
	CHECK_STR(root, "registry[0].auth.user", "bob");
	CHECK_SIZE(root, "registry[0].mirror", 2);
	CHECK_STR(root, "registry[0].mirror[1].location", "mirror-b.example");
	CHECK_BOOL(root, "registry[0].mirror[1].insecure", TRUE);
	CHECK_SIZE(root, "registry[1]", 0);
	CHECK_STR(root, "registry[2].prefix", "quay.io");
	CHECK_SIZE(root, "registry[2].mirror", 1);
	CHECK_BOOL(root, "registry[2].mirror[0].tls.verify", FALSE);
	CHECK_SIZE(root, "spaced.aot", 1);
	CHECK_INT(root, "implicit.arr[0].x", 1);
	CHECK_INT(root, "implicit.y", 2);
}

static void test_inline_tables(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE(
		"name = { first = \"Ada\", last = \"Lovelace\" }\n"
		"point = {x=1,y=2}\n"
		"animal = { type.name = \"cat\", type.legs = 4 }\n"
		"empty = {}\n"
		"spaced = {   }\n"
		"nested = { a = { b = { c = 1 } }, list = [1, {x = 2}] }\n"
		"[t]\n"
		"inline = { \"quoted key\" = 'v', 'lit' = 1979-05-27 }\n");
	CHECK_SIZE(root, "name", 2);
	assert_string_equal(toml_table_key_at(AT(root, "name"), 0), "first");
	CHECK_STR(root, "name.last", "Lovelace");
	CHECK_INT(root, "point.y", 2);
	CHECK_STR(root, "animal.type.name", "cat");
	CHECK_INT(root, "animal.type.legs", 4);
	CHECK_SIZE(root, "empty", 0);
	CHECK_SIZE(root, "spaced", 0);
	CHECK_INT(root, "nested.a.b.c", 1);
	CHECK_INT(root, "nested.list[1].x", 2);
	CHECK_STR(toml_table_get(AT(root, "t.inline"), "quoted key"), "", "v");
	CHECK_DATETIME(root, "t.inline.lit", "1979-05-27");
}

static void test_arrays(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE(
		"ints = [ 1, 2, 3 ]\n"
		"strs = [ \"a\", 'b', \"\"\"c\"\"\", '''d''' ]\n"
		"nested = [ [ 1, 2 ], [\"x\", [true]] ]\n"
		"mixed = [ 1, 2.5, \"s\", false, 07:00:00, {k = 1}, [] ]\n"
		"multi = [\n"
		"  1,\n"
		"\n"
		"  2, # comment\n"
		"]\n"
		"crlf = [\r\n  1 ,\r\n  2\r\n]\r\n"
		"empty = []\n"
		"empty_nl = [\n"
		"\n"
		"]\n"
		"tables = [ { a = 1 }, { a = 2 } ]\n"
		"trailing = [1,]\n");
	CHECK_SIZE(root, "ints", 3);
	CHECK_INT(root, "ints[2]", 3);
	CHECK_STR(root, "strs[2]", "c");
	CHECK_STR(root, "strs[3]", "d");
	CHECK_STR(root, "nested[1][0]", "x");
	CHECK_BOOL(root, "nested[1][1][0]", TRUE);
	CHECK_SIZE(root, "mixed", 7);
	CHECK_FLOAT(root, "mixed[1]", 2.5);
	CHECK_DATETIME(root, "mixed[4]", "07:00:00");
	CHECK_INT(root, "mixed[5].k", 1);
	CHECK_SIZE(root, "mixed[6]", 0);
	CHECK_SIZE(root, "multi", 2);
	CHECK_SIZE(root, "crlf", 2);
	CHECK_SIZE(root, "empty", 0);
	CHECK_SIZE(root, "empty_nl", 0);
	CHECK_INT(root, "tables[1].a", 2);
	CHECK_SIZE(root, "trailing", 1);
}

/* ---- strings ------------------------------------------------------------ */

static void test_basic_strings(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("esc = \"b\\b t\\t n\\n f\\f r\\r q\\\" bs\\\\ end\"\n"
		      "u4 = \"\\u00e9\\u00C9\\u20AC\\uD7FF\\uE000\"\n"
		      "u8 = \"\\U0001F600\\U0010FFFF\\U00000041\"\n"
		      "raw_utf8 = \"caf\xC3\xA9 \xF0\x9F\x98\x80\"\n"
		      "tab = \"a\tb\"\n"
		      "empty = \"\"\n"
		      "single_quote = \"it's\"\n"
		      "hash = \"#\"\n");
	CHECK_STR(root, "esc", "b\b t\t n\n f\f r\r q\" bs\\ end");
	CHECK_STR(root, "u4",
		  "\xC3\xA9\xC3\x89\xE2\x82\xAC\xED\x9F\xBF"
		  "\xEE\x80\x80");
	CHECK_STR(root, "u8",
		  "\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"
		  "A");
	CHECK_STR(root, "raw_utf8", "caf\xC3\xA9 \xF0\x9F\x98\x80");
	CHECK_STR(root, "tab", "a\tb");
	CHECK_STR(root, "empty", "");
	CHECK_STR(root, "single_quote", "it's");
	CHECK_STR(root, "hash", "#");
}

static void test_multiline_basic_strings(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("trim = \"\"\"\n"
		      "first line\n"
		      "second line\"\"\"\n"
		      "trim_crlf = \"\"\"\r\nx\r\ny\"\"\"\n"
		      "keep_second = \"\"\"\n\nz\"\"\"\n"
		      "cont = \"\"\"\\\n"
		      "       The quick \\\n"
		      "\n"
		      "       brown fox.\\\n"
		      "       \"\"\"\n"
		      "cont_ws = \"\"\"a \\   \t\n   b\"\"\"\n"
		      "two = \"\"\"Two quotes \"\" inside.\"\"\"\n"
		      "three = \"\"\"Three \"\"\\\" escaped.\"\"\"\n"
		      "end1 = \"\"\"ends in one\"\"\"\"\n"
		      "end2 = \"\"\"ends in two\"\"\"\"\"\n"
		      "start2 = \"\"\"\"\"starts with two\"\"\"\n"
		      "empty = \"\"\"\"\"\"\n"
		      "escapes = \"\"\"\\tx\\u0041\\\\\"\"\"\n"
		      "tab = \"\"\"a\tb\"\"\"\n");
	CHECK_STR(root, "trim", "first line\nsecond line");
	CHECK_STR(root, "trim_crlf", "x\ny");
	CHECK_STR(root, "keep_second", "\nz");
	CHECK_STR(root, "cont", "The quick brown fox.");
	CHECK_STR(root, "cont_ws", "a b");
	CHECK_STR(root, "two", "Two quotes \"\" inside.");
	CHECK_STR(root, "three", "Three \"\"\" escaped.");
	CHECK_STR(root, "end1", "ends in one\"");
	CHECK_STR(root, "end2", "ends in two\"\"");
	CHECK_STR(root, "start2", "\"\"starts with two");
	CHECK_STR(root, "empty", "");
	CHECK_STR(root, "escapes", "\txA\\");
	CHECK_STR(root, "tab", "a\tb");
}

static void test_literal_strings(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("path = 'C:\\Users\\berth\\n'\n"
		      "regex = '<\\i\\c*\\s*>'\n"
		      "quoted = 'say \"hi\"'\n"
		      "empty = ''\n"
		      "ml = '''\n"
		      "The first newline is\n"
		      "trimmed; \\n and \\ stay.\n"
		      "'''\n"
		      "ml_quotes = '''It's ''quoted'' here'''''\n"
		      "ml_start = ''''one quote first'''\n"
		      "ml_crlf = '''a\r\nb'''\n"
		      "ml_empty = ''''''\n");
	CHECK_STR(root, "path", "C:\\Users\\berth\\n");
	CHECK_STR(root, "regex", "<\\i\\c*\\s*>");
	CHECK_STR(root, "quoted", "say \"hi\"");
	CHECK_STR(root, "empty", "");
	CHECK_STR(root, "ml",
		  "The first newline is\ntrimmed; \\n and \\ stay.\n");
	CHECK_STR(root, "ml_quotes", "It's ''quoted'' here''");
	CHECK_STR(root, "ml_start", "'one quote first");
	CHECK_STR(root, "ml_crlf", "a\nb");
	CHECK_STR(root, "ml_empty", "");
}

/* ---- numbers, booleans, date-times ----------------------------------------
 */

static void test_integers(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("plus = +99\n"
					  "plain = 42\n"
					  "zero = 0\n"
					  "plus_zero = +0\n"
					  "minus_zero = -0\n"
					  "neg = -17\n"
					  "us1 = 1_000\n"
					  "us2 = 5_349_221\n"
					  "us3 = 1_2_3_4_5\n"
					  "max = 9223372036854775807\n"
					  "min = -9223372036854775808\n"
					  "hex_upper = 0xDEADBEEF\n"
					  "hex_lower = 0xdeadbeef\n"
					  "hex_us = 0xdead_beef\n"
					  "hex_max = 0x7FFFFFFFFFFFFFFF\n"
					  "hex_lead = 0x000001\n"
					  "oct = 0o01234567\n"
					  "oct_perm = 0o755\n"
					  "oct_max = 0o777777777777777777777\n"
					  "bin = 0b11010110\n"
					  "bin_us = 0b1_0\n"
					  "in_array = [1,-2,+3]\n");
	CHECK_INT(root, "plus", 99);
	CHECK_INT(root, "plain", 42);
	CHECK_INT(root, "zero", 0);
	CHECK_INT(root, "plus_zero", 0);
	CHECK_INT(root, "minus_zero", 0);
	CHECK_INT(root, "neg", -17);
	CHECK_INT(root, "us1", 1000);
	CHECK_INT(root, "us2", 5349221);
	CHECK_INT(root, "us3", 12345);
	CHECK_INT(root, "max", G_MAXINT64);
	CHECK_INT(root, "min", G_MININT64);
	CHECK_INT(root, "hex_upper", 0xDEADBEEF);
	CHECK_INT(root, "hex_lower", 0xDEADBEEF);
	CHECK_INT(root, "hex_us", 0xDEADBEEF);
	CHECK_INT(root, "hex_max", G_MAXINT64);
	CHECK_INT(root, "hex_lead", 1);
	CHECK_INT(root, "oct", 01234567);
	CHECK_INT(root, "oct_perm", 0755);
	CHECK_INT(root, "oct_max", G_MAXINT64);
	CHECK_INT(root, "bin", 214);
	CHECK_INT(root, "bin_us", 2);
	CHECK_INT(root, "in_array[1]", -2);
	CHECK_INT(root, "in_array[2]", 3);
}

static void test_floats(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("f1 = +1.0\n"
					  "f2 = 3.1415\n"
					  "f3 = -0.01\n"
					  "f4 = 5e+22\n"
					  "f5 = 1e06\n"
					  "f6 = -2E-2\n"
					  "f7 = 6.626e-34\n"
					  "f8 = 224_617.445_991_228\n"
					  "f9 = 0e0\n"
					  "f10 = -0.0\n"
					  "f11 = 1E3\n"
					  "f12 = 0.000_1\n"
					  "f13 = 1e1_0\n"
					  "f14 = 0.5\n"
					  "tiny = 1e-400\n"
					  "inf1 = inf\n"
					  "inf2 = +inf\n"
					  "inf3 = -inf\n"
					  "nan1 = nan\n"
					  "nan2 = +nan\n"
					  "nan3 = -nan\n"
					  "arr = [inf,-1.5,nan]\n");
	CHECK_FLOAT(root, "f1", 1.0);
	CHECK_FLOAT(root, "f2", 3.1415);
	CHECK_FLOAT(root, "f3", -0.01);
	CHECK_FLOAT(root, "f4", 5e22);
	CHECK_FLOAT(root, "f5", 1e6);
	CHECK_FLOAT(root, "f6", -0.02);
	CHECK_FLOAT(root, "f7", 6.626e-34);
	CHECK_FLOAT(root, "f8", 224617.445991228);
	CHECK_FLOAT(root, "f9", 0.0);
	CHECK_FLOAT(root, "f10", -0.0);
	CHECK_FLOAT(root, "f11", 1000.0);
	CHECK_FLOAT(root, "f12", 0.0001);
	CHECK_FLOAT(root, "f13", 1e10);
	CHECK_FLOAT(root, "f14", 0.5);
	CHECK_FLOAT(root, "tiny", 0.0);
	CHECK_FLOAT(root, "inf1", INFINITY);
	CHECK_FLOAT(root, "inf2", INFINITY);
	CHECK_FLOAT(root, "inf3", -INFINITY);
	CHECK_FLOAT(root, "nan1", NAN);
	CHECK_FLOAT(root, "nan2", NAN);
	CHECK_FLOAT(root, "nan3", NAN);
	CHECK_FLOAT(root, "arr[1]", -1.5);
	CHECK_FLOAT(root, "arr[2]", NAN);
}

static void test_booleans(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("t = true\nf = false\nlist = [true,false]\n"
		      "inl = {x=true}\n");
	CHECK_BOOL(root, "t", TRUE);
	CHECK_BOOL(root, "f", FALSE);
	CHECK_BOOL(root, "list[0]", TRUE);
	CHECK_BOOL(root, "list[1]", FALSE);
	CHECK_BOOL(root, "inl.x", TRUE);
}

static void test_datetimes(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root =
		PARSE("odt1 = 1979-05-27T07:32:00Z\n"
		      "odt2 = 1979-05-27T00:32:00-07:00\n"
		      "odt3 = 1979-05-27T00:32:00.999999+05:30\n"
		      "odt4 = 1979-05-27 07:32:00Z\n"
		      "odt5 = 1979-05-27t07:32:00z\n"
		      "ldt1 = 1979-05-27T07:32:00\n"
		      "ldt2 = 1979-05-27 00:32:00.5\n"
		      "ld = 1979-05-27\n"
		      "ld_comment = 1979-05-27 # a date, then a comment\n"
		      "ld_trailing = 1979-05-27   \n"
		      "lt1 = 07:32:00\n"
		      "lt2 = 23:59:59.999999999\n"
		      "leap_2024 = 2024-02-29\n"
		      "leap_2000 = 2000-02-29T12:00:00\n"
		      "leap_second = 1990-12-31T23:59:60Z\n"
		      "first = 0001-01-01T00:00:00Z\n"
		      "last = 9999-12-31T23:59:59-23:59\n"
		      "arr = [1979-05-27, 07:32:00,1979-05-27 07:32:00]\n"
		      "inl = {d = 2001-01-31}\n");
	CHECK_DATETIME(root, "odt1", "1979-05-27T07:32:00Z");
	CHECK_DATETIME(root, "odt2", "1979-05-27T00:32:00-07:00");
	CHECK_DATETIME(root, "odt3", "1979-05-27T00:32:00.999999+05:30");
	CHECK_DATETIME(root, "odt4", "1979-05-27 07:32:00Z");
	CHECK_DATETIME(root, "odt5", "1979-05-27t07:32:00z");
	CHECK_DATETIME(root, "ldt1", "1979-05-27T07:32:00");
	CHECK_DATETIME(root, "ldt2", "1979-05-27 00:32:00.5");
	CHECK_DATETIME(root, "ld", "1979-05-27");
	CHECK_DATETIME(root, "ld_comment", "1979-05-27");
	CHECK_DATETIME(root, "ld_trailing", "1979-05-27");
	CHECK_DATETIME(root, "lt1", "07:32:00");
	CHECK_DATETIME(root, "lt2", "23:59:59.999999999");
	CHECK_DATETIME(root, "leap_2024", "2024-02-29");
	CHECK_DATETIME(root, "leap_2000", "2000-02-29T12:00:00");
	CHECK_DATETIME(root, "leap_second", "1990-12-31T23:59:60Z");
	CHECK_DATETIME(root, "first", "0001-01-01T00:00:00Z");
	CHECK_DATETIME(root, "last", "9999-12-31T23:59:59-23:59");
	CHECK_DATETIME(root, "arr[0]", "1979-05-27");
	CHECK_DATETIME(root, "arr[1]", "07:32:00");
	CHECK_DATETIME(root, "arr[2]", "1979-05-27 07:32:00");
	CHECK_DATETIME(root, "inl.d", "2001-01-31");
}

/* ---- positions, line endings, lengths ----------------------------------- */

static void test_positions(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("name = \"x\"\n"
					  "[server]\n"
					  "  port = 8080\n"
					  "  tls.cert = 'a'\n"
					  "[[hooks]]\n"
					  "  list = [\n"
					  "    1,\n"
					  "    { k = 2 } ]\n"
					  "[a.b]\n"
					  "[a]\n"
					  "\"\xC3\xA9\" = \"\xC3\xBC\"\n");
	assert_int_equal(toml_key_line(root, 0), 1);
	assert_int_equal(toml_key_col(root, 0), 1);
	const TomlValue *name = toml_table_get(root, "name");
	assert_int_equal(toml_line(name), 1);
	assert_int_equal(toml_col(name), 8);

	const TomlValue *server = toml_table_get(root, "server");
	assert_int_equal(toml_line(server), 2);
	assert_int_equal(toml_col(server), 1);
	assert_int_equal(toml_key_line(root, 1), 2);
	assert_int_equal(toml_key_col(root, 1), 2);
	assert_int_equal(toml_key_line(server, 0), 3);
	assert_int_equal(toml_key_col(server, 0), 3);
	assert_int_equal(toml_col(toml_table_get(server, "port")), 10);
	const TomlValue *tls = toml_table_get(server, "tls");
	assert_int_equal(toml_line(tls), 4);
	assert_int_equal(toml_col(tls), 3);
	assert_int_equal(toml_key_col(tls, 0), 7);

	const TomlValue *hooks = toml_table_get(root, "hooks");
	assert_int_equal(toml_line(hooks), 5);
	assert_int_equal(toml_key_col(root, 2), 3);
	const TomlValue *hook = toml_array_get(hooks, 0);
	assert_int_equal(toml_line(hook), 5);
	const TomlValue *list = toml_table_get(hook, "list");
	assert_int_equal(toml_line(list), 6);
	assert_int_equal(toml_col(list), 10);
	assert_int_equal(toml_line(toml_array_get(list, 1)), 8);
	assert_int_equal(toml_col(toml_array_get(list, 1)), 5);
	const TomlValue *inl = toml_array_get(list, 1);
	assert_int_equal(toml_key_col(inl, 0), 7);

	/* [a] made explicit after [a.b] is reported where [a] is. */
	const TomlValue *a = toml_table_get(root, "a");
	assert_int_equal(toml_line(a), 10);
	assert_int_equal(toml_line(toml_table_get(a, "b")), 9);

	/* Columns count characters, not bytes. */
	const TomlValue *e = toml_table_get(a, "\xC3\xA9");
	assert_int_equal(toml_line(e), 11);
	assert_int_equal(toml_col(e), 7);
}

static void test_crlf(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE("a = 1\r\n"
					  "b = \"\"\"x\r\ny\"\"\"\r\n"
					  "[t]\r\n"
					  "c = 'z' # comment\r\n"
					  "d = [\r\n1,\r\n2]\r\n");
	CHECK_INT(root, "a", 1);
	CHECK_STR(root, "b", "x\ny");
	CHECK_STR(root, "t.c", "z");
	CHECK_SIZE(root, "t.d", 2);
	assert_int_equal(toml_key_line(AT(root, "t"), 0), 5);
	assert_int_equal(toml_line(AT(root, "t.d[1]")), 8);
}

/* The document is len bytes; nothing after it may be read. */
static void test_not_nul_terminated(void **state)
{
	(void)state;
	g_autoptr(TomlValue) a = parse_at("a = 12345", 7, __FILE__, __LINE__);
	CHECK_INT(a, "a", 123);
	g_autoptr(TomlValue) b = parse_at("b = true!", 8, __FILE__, __LINE__);
	CHECK_BOOL(b, "b", TRUE);
	g_autoptr(TomlValue) c = parse_at("c = 0x1F", 5, __FILE__, __LINE__);
	CHECK_INT(c, "c", 0);
	g_autoptr(TomlValue) d =
		parse_at("d = 1979-05-27T07:32:00Z", 14, __FILE__, __LINE__);
	CHECK_DATETIME(d, "d", "1979-05-27");

	CHECK_BAD_LEN("a = \"abc\"", 8, "1:5", "unterminated string");
	CHECK_BAD_LEN("a = \"\"\"abc\"\"\"", 12, "1:5", "unterminated string");
	CHECK_BAD_LEN("a = tr", 6, "1:5", "invalid value tr");
	CHECK_BAD_LEN("a = 1979-05-27T07:32:00Z", 19, "1:20",
		      "expected a digit in date-time, found end of input");
	CHECK_BAD_LEN("a = [1, 2]", 9, "1:10",
		      "expected ',' or ']' in array, found end of input");
	CHECK_BAD_LEN("a = {b = 1}", 10, "1:11",
		      "expected ',' or '}' in inline table");
	CHECK_BAD_LEN("a = \"\\u00e9\"", 9, "1:10", "expected 4 hex digits");
	CHECK_BAD_LEN("[table]", 6, "1:7", "expected ']' to close the header");
	CHECK_BAD_LEN("a = 1 # comment", 2, "1:3", "expected '='");
}

/* A crio.conf-like document, as berth's config loader will see it. */
static const char crio_like[] =
	"# berth configuration file\n"
	"\n"
	"[berth]\n"
	"root = \"/var/lib/containers/storage\"\n"
	"runroot = \"/run/containers/storage\"\n"
	"storage_driver = \"overlay\"\n"
	"storage_option = [\n"
	"\t\"overlay.mountopt=nodev,metacopy=on\",\n"
	"]\n"
	"log_dir = \"/var/log/berth/pods\"\n"
	"\n"
	"[berth.api]\n"
	"listen = \"/run/berth/berth.sock\"\n"
	"stream_address = \"127.0.0.1\"\n"
	"stream_port = \"0\"\n"
	"grpc_max_send_msg_size = 83886080\n"
	"\n"
	"[berth.runtime]\n"
	"default_runtime = \"crun\"\n"
	"cgroup_manager = \"systemd\"\n"
	"default_capabilities = [\n"
	"\t\"CHOWN\",\n"
	"\t\"DAC_OVERRIDE\",\n"
	"\t\"NET_BIND_SERVICE\",\n"
	"\t\"KILL\",\n"
	"]\n"
	"default_sysctls = []\n"
	"pids_limit = -1\n"
	"log_size_max = -1\n"
	"log_level = \"info\"\n"
	"selinux = false\n"
	"default_ulimits = [ \"nofile=1024:2048\" ]\n"
	"\n"
	"  [berth.runtime.runtimes.crun]\n"
	"  runtime_path = \"/usr/bin/crun\"\n"
	"  runtime_type = \"oci\"\n"
	"  runtime_root = \"/run/crun\"\n"
	"  monitor_path = \"/usr/libexec/berth/berth-conmon\"\n"
	"  monitor_env = [\"PATH=/usr/sbin:/usr/bin:/sbin:/bin\"]\n"
	"  allowed_annotations = [\n"
	"      \"io.containers.trace-syscall\",\n"
	"  ]\n"
	"\n"
	"  [berth.runtime.runtimes.runc]\n"
	"  runtime_path = '/usr/sbin/runc'\n"
	"  runtime_type = 'oci'\n"
	"\n"
	"[berth.runtime.workloads.management]\n"
	"activation_annotation = \"target.workload.openshift.io/management\"\n"
	"resources = { cpushares = 0, cpuset = \"0-1\" }\n"
	"\n"
	"[berth.image]\n"
	"default_transport = \"docker://\"\n"
	"pause_image = \"registry.k8s.io/pause:3.9\"\n"
	"insecure_registries = [\n"
	"]\n"
	"\n"
	"[berth.network]\n"
	"network_dir = \"/etc/cni/net.d/\"\n"
	"plugin_dirs = [\n"
	"\t\"/opt/cni/bin/\",\n"
	"\t\"/usr/libexec/cni\",\n"
	"]\n"
	"\n"
	"[berth.metrics]\n"
	"enable_metrics = false\n"
	"metrics_port = 9090\n";

static void test_crio_like_document(void **state)
{
	(void)state;
	g_autoptr(TomlValue) root = PARSE(crio_like);
	assert_int_equal(toml_table_size(root), 1);
	const TomlValue *berth = toml_table_get(root, "berth");
	const char *sections[] = {"root",	    "runroot", "storage_driver",
				  "storage_option", "log_dir", "api",
				  "runtime",	    "image",   "network",
				  "metrics"};
	assert_int_equal(toml_table_size(berth), G_N_ELEMENTS(sections));
	for (guint i = 0; i < G_N_ELEMENTS(sections); i++)
		assert_string_equal(toml_table_key_at(berth, i), sections[i]);

	CHECK_STR(root, "berth.root", "/var/lib/containers/storage");
	CHECK_STR(root, "berth.storage_option[0]",
		  "overlay.mountopt=nodev,metacopy=on");
	CHECK_STR(root, "berth.api.listen", "/run/berth/berth.sock");
	CHECK_INT(root, "berth.api.grpc_max_send_msg_size", 83886080);
	CHECK_SIZE(root, "berth.runtime.default_capabilities", 4);
	CHECK_STR(root, "berth.runtime.default_capabilities[3]", "KILL");
	CHECK_SIZE(root, "berth.runtime.default_sysctls", 0);
	CHECK_INT(root, "berth.runtime.pids_limit", -1);
	CHECK_BOOL(root, "berth.runtime.selinux", FALSE);

	const TomlValue *runtimes = AT(root, "berth.runtime.runtimes");
	assert_int_equal(toml_table_size(runtimes), 2);
	assert_string_equal(toml_table_key_at(runtimes, 0), "crun");
	assert_string_equal(toml_table_key_at(runtimes, 1), "runc");
	assert_int_equal(toml_line(toml_table_value_at(runtimes, 0)), 34);
	assert_int_equal(toml_col(toml_table_value_at(runtimes, 0)), 3);
	assert_int_equal(toml_key_line(runtimes, 1), 44);
	assert_int_equal(toml_key_col(runtimes, 1), 27);
	CHECK_STR(root, "berth.runtime.runtimes.crun.runtime_path",
		  "/usr/bin/crun");
	CHECK_STR(root, "berth.runtime.runtimes.crun.monitor_env[0]",
		  "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
	CHECK_STR(root, "berth.runtime.runtimes.crun.allowed_annotations[0]",
		  "io.containers.trace-syscall");
	CHECK_STR(root, "berth.runtime.runtimes.runc.runtime_type", "oci");
	CHECK_STR(root, "berth.runtime.workloads.management.resources.cpuset",
		  "0-1");
	CHECK_STR(root, "berth.image.pause_image", "registry.k8s.io/pause:3.9");
	CHECK_SIZE(root, "berth.image.insecure_registries", 0);
	CHECK_STR(root, "berth.network.plugin_dirs[1]", "/usr/libexec/cni");
	CHECK_INT(root, "berth.metrics.metrics_port", 9090);
}

/* ---- invalid documents -------------------------------------------------- */

static void test_invalid_syntax(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = 1 b = 2\n", "1:7", "after the value, found 'b'"},
		{"[a] x = 1\n", "1:5", "after the table header, found 'x'"},
		{"a\n", "1:2", "expected '=' after key, found end of line"},
		{"a b = 1\n", "1:3", "expected '=' after key, found 'b'"},
		{"a = 1\nb = 2 # ok\n c d\n", "3:4", "expected '=' after key"},
		{"a = \n", "1:5", "expected a value, found end of line"},
		{"a =", "1:4", "expected a value, found end of input"},
		{"a = # c\n", "1:5", "expected a value, found '#'"},
		{"= 1\n", "1:1", "expected a key, found '='"},
		{".a = 1\n", "1:1", "expected a key, found '.'"},
		{"a. = 1\n", "1:4", "expected a key, found '='"},
		{"a..b = 1\n", "1:3", "expected a key, found '.'"},
		{"a = 1 = 2\n", "1:7", "after the value, found '='"},
		{"a = = 1\n", "1:5", "expected a value, found '='"},
		{"\xC2\xB5 = 1\n", "1:1", "expected a key, found U+00B5"},
		{"k\t\xC2\xB5 = 1\n", "1:3",
		 "expected '=' after key, found U+00B5"},
		{"\"\"\"k\"\"\" = 1\n", "1:1", "a key cannot be a multi-line"},
		{"'''k''' = 1\n", "1:1", "a key cannot be a multi-line"},
		{"[]\n", "1:2", "expected a key, found ']'"},
		{"[a\n", "1:3", "expected ']' to close the header, found end"},
		{"[[a]\n", "1:5", "expected ']]' to close the header"},
		{"[[a] ]\n", "1:5", "expected ']]' to close the header"},
		{"[a]]\n", "1:4", "after the table header, found ']'"},
		{"[ [a]]\n", "1:3", "expected a key, found '['"},
		{"[a.]\n", "1:4", "expected a key, found ']'"},
		{"[.a]\n", "1:2", "expected a key, found '.'"},
		{"[a b]\n", "1:4",
		 "expected ']' to close the header, found 'b'"},
		{"[a] # c\x01\n", "1:8", "control character U+0001"},
		{"[a]\n\"\"\"b\"\"\" = 1\n", "2:1", "multi-line"},
		{"a = [1 2]\n", "1:8",
		 "expected ',' or ']' in array, found '2'"},
		{"a = [1,,2]\n", "1:8", "expected a value, found ','"},
		{"a = [,]\n", "1:6", "expected a value, found ','"},
		{"a = [1,\n", "2:1", "expected a value, found end of input"},
		{"a = [1\n", "2:1", "expected ',' or ']' in array, found end"},
		{"a = [ # c \x01\n]\n", "1:11", "control character U+0001"},
		{"a = {b = 1,}\n", "1:11", "trailing comma is not allowed"},
		{"a = {b = 1, }\n", "1:11", "trailing comma is not allowed"},
		{"a = {b = 1\n}\n", "1:11",
		 "expected ',' or '}' in inline table"},
		{"a = {\nb = 1}\n", "1:6", "expected a key, found end of line"},
		{"a = {b = 1 c = 2}\n", "1:12", "expected ',' or '}'"},
		{"a = {,}\n", "1:6", "expected a key, found ','"},
		{"a = {b = 1 # c\n}\n", "1:12", "found '#'"},
		{"a = {b = 1,\nc = 2}\n", "1:12", "expected a key"},
		{"a = {b}\n", "1:7", "expected '=' after key, found '}'"},
	};
	CHECK_BAD_CASES(cases);
}

static void test_invalid_duplicate_keys(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = 1\na = 2", "2:1",
		 "duplicate key `a`: it is already an integer (from 1:1)"},
		{"\"a\" = 1\na = 2\n", "2:1", "duplicate key `a`"},
		{"'a' = 1\n\"\\u0061\" = 2\n", "2:1", "duplicate key `a`"},
		{"\"a b\" = 1\n'a b' = 2\n", "2:1", "duplicate key `\"a b\"`"},
		{"a.b = 1\na.b = 2\n", "2:3", "duplicate key `a.b`"},
		{"a.b = 1\na = 2\n", "2:1",
		 "duplicate key `a`: it is already a table created by dotted "
		 "keys"},
		{"a = {}\na = 1\n", "2:1", "it is already an inline table"},
		{"a = {b = 1, b = 2}\n", "1:13", "duplicate key `b`"},
		{"a = {b.c = 1, b = 2}\n", "1:15", "duplicate key `b`"},
		{"a = 1 # ok\n[b]\nc = 2\nc = 3\n", "4:1", "duplicate key `c`"},
	};
	CHECK_BAD_CASES(cases);
}

/* Which tables a [header], [[header]] or dotted key may define or extend. */
static void test_invalid_table_definitions(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"[a]\n[a]\n", "2:2",
		 "cannot define table `a`: it is already a table defined by a "
		 "[header] (from 1:2)"},
		{"[a.b]\n[a.b]\n", "2:4", "cannot define table `a.b`"},
		{"[\"a.b\"]\n[\"a.b\"]\n", "2:2", "table `\"a.b\"`"},
		{"[a.b]\n[a]\n[a]\n", "3:2", "cannot define table `a`"},
		{"[a]\nb = 1\n[a.b]\n", "3:4",
		 "cannot define table `a.b`: it is already an integer"},
		{"[a]\nb = 1\n[a.b.c]\n", "3:4",
		 "cannot define a table in `a.b`: it is already an integer"},
		{"a.b = 1\n[a]\n", "2:2",
		 "cannot define table `a`: it is already a table created by "
		 "dotted keys"},
		{"[x]\ny.z = 1\n[x.y]\n", "3:4", "cannot define table `x.y`"},
		{"[x]\ny.z.w = 1\n[x.y.z]\n", "3:6", "table `x.y.z`"},
		{"a = {b = 1}\n[a]\n", "2:2",
		 "cannot define table `a`: it is already an inline table"},
		{"a = {b = 1}\n[a.c]\n", "2:2", "cannot define a table in `a`"},
		{"a = {b = {}}\n[a.b.c]\n", "2:2",
		 "cannot define a table in `a`: it is already an inline"},
		{"a = [{b = 1}]\n[[a]]\n", "2:3",
		 "cannot define array of tables `a`: it is already an array"},
		{"a = [{b = 1}]\n[a.c]\n", "2:2",
		 "cannot define a table in `a`: it is already an array"},
		{"[[a]]\n[a]\n", "2:2",
		 "cannot define table `a`: it is already an array of tables"},
		{"[a]\n[[a]]\n", "2:3", "cannot define array of tables `a`"},
		{"a = true\n[[a]]\n", "2:3", "it is already a boolean"},
		{"a = 1979-05-27\n[a]\n", "2:2", "it is already a date-time"},
		{"a = 1.5\n[a.b]\n", "2:2", "it is already a float"},
		{"a = 's'\na.b = 1\n", "2:1", "it is already a string"},
		{"[[a]]\nb = 1\n[a.b]\n", "3:4", "it is already an integer"},
		/* Dotted keys extend only tables that dotted keys made... */
		{"a = 1\na.b = 2\n", "2:1",
		 "dotted key cannot extend `a`: it is already an integer"},
		{"a = [1]\na.b = 2\n", "2:1", "it is already an array (from"},
		{"a = {b = 1}\na.c = 2\n", "2:1",
		 "dotted key cannot extend `a`: it is already an inline table"},
		{"a = {b = {c = 1}, b.d = 2}\n", "1:19",
		 "dotted key cannot extend `b`"},
		/* ...and so never ones made by [headers]. */
		{"[a.b.c]\nz = 1\n[a]\nb.c.t = 2\n", "4:1",
		 "dotted key cannot extend `b`: it is already a table created "
		 "by a [header]"},
		{"[a.b]\n[a]\nb.c = 1\n", "3:1",
		 "`b`: it is already a table defined by a [header]"},
		{"[[a.b]]\n[a]\nb.c = 1\n", "3:1",
		 "`b`: it is already an array of tables"},
		{"[a.b]\nx = 1\n[a]\nb.x = 2\n", "4:1", "dotted key cannot"},
	};
	CHECK_BAD_CASES(cases);
}

static void test_invalid_strings(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = \"abc\n", "1:9", "unterminated string: end of line"},
		{"a = \"abc", "1:5", "unterminated string"},
		{"a = 'abc\n", "1:9", "unterminated string: end of line"},
		{"a = \"\"\"abc\n\n", "1:5", "unterminated string"},
		{"a = \"\"\"abc\"\"\n", "1:5", "unterminated string"},
		{"a = '''abc''\n", "1:5", "unterminated string"},
		{"a = \"\\x41\"\n", "1:6",
		 "invalid escape: backslash followed by 'x'"},
		{"a = \"\\e\"\n", "1:6", "backslash followed by 'e'"},
		{"a = \"\\ \"\n", "1:6", "backslash followed by a space"},
		{"a = \"\\\n\"\n", "1:6", "backslash followed by end of line"},
		{"a = \"\"\"x\\ y\"\"\"\n", "1:9",
		 "backslash followed by a space"},
		{"a = \"\\u12\"\n", "1:10",
		 "expected 4 hex digits in escape, found '\"'"},
		{"a = \"\\U1234567\"\n", "1:15", "expected 8 hex digits"},
		{"a = \"\\uZZZZ\"\n", "1:8", "expected 4 hex digits"},
		{"a = \"\\uD800\"\n", "1:6", "escape \\uD800 is not a Unicode"},
		{"a = \"\\uDFFF\"\n", "1:6", "not a Unicode scalar value"},
		{"a = \"\\U00110000\"\n", "1:6", "not a Unicode scalar value"},
		{"a = \"\\UFFFFFFFF\"\n", "1:6", "not a Unicode scalar value"},
		{"a = \"\\u0000\"\n", "1:6", "\\u0000 (NUL) is not supported"},
		{"a = \"x\x01y\"\n", "1:7",
		 "control character U+0001 is not allowed in a string"},
		{"a = \"x\x7fy\"\n", "1:7", "control character U+007F"},
		{"a = \"x\x1f\"\n", "1:7", "control character U+001F"},
		{"a = 'x\x1b'\n", "1:7", "control character U+001B"},
		{"a = \"\"\"x\x01\"\"\"\n", "1:9", "control character U+0001"},
		{"a = '''\nx\x0c'''\n", "2:2", "control character U+000C"},
		{"a = \"\"\"\nx\x08\"\"\"\n", "2:2",
		 "control character U+0008"},
		{"a = \"\"\"x\"\"\"\"\"\"\n", "1:14",
		 "after the value, found '\"'"},
		{"a = '''x''''''\n", "1:14", "after the value, found '''"},
		{"a = \"x\" \"y\"\n", "1:9", "after the value, found '\"'"},
		{"a = \"x\"y\n", "1:8", "after the value, found 'y'"},
		{"a = value\n", "1:5", "invalid value value"},
	};
	CHECK_BAD_CASES(cases);
}

static void test_invalid_numbers(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = 01\n", "1:5", "leading zeros are not allowed"},
		{"a = -01\n", "1:6", "leading zeros are not allowed"},
		{"a = 0_1\n", "1:5", "leading zeros are not allowed"},
		{"a = 00.5\n", "1:5", "leading zeros are not allowed"},
		{"a = 1__0\n", "1:6", "'_' in a number must be between digits"},
		{"a = 1_\n", "1:6", "'_' in a number must be between digits"},
		{"a = _1\n", "1:5", "invalid value _1"},
		{"a = 0x_1\n", "1:7", "'_' in a number must be between digits"},
		{"a = 0x\n", "1:7", "expected a hex digit, found end of line"},
		{"a = 0xG1\n", "1:7", "expected a hex digit, found 'G'"},
		{"a = 0o8\n", "1:7", "expected an octal digit, found '8'"},
		{"a = 0b102\n", "1:9", "expected a binary digit, found '2'"},
		{"a = +0x1\n", "1:7", "unexpected character in number"},
		{"a = -0b1\n", "1:7", "unexpected character in number"},
		{"a = 0X1\n", "1:6",
		 "unexpected character in number, found 'X'"},
		{"a = 9223372036854775808\n", "1:5", "does not fit in 64 bits"},
		{"a = -9223372036854775809\n", "1:5", "does not fit in 64"},
		{"a = 0x8000000000000000\n", "1:5", "does not fit in 64 bits"},
		{"a = 0b1111111111111111111111111111111111111111111111111111111"
		 "111111111\n",
		 "1:5", "does not fit in 64 bits"},
		{"a = 99999999999999999999999\n", "1:5", "does not fit"},
		{"a = nope_this_is_a_very_long_bare_word_indeed\n", "1:5",
		 "invalid value nope_this_is_a_very_long_bare_wo..."},
		{"a = 1.\n", "1:7", "expected a digit, found end of line"},
		{"a = .5\n", "1:5", "invalid value .5"},
		{"a = 1.e5\n", "1:7", "expected a digit, found 'e'"},
		{"a = 1e\n", "1:7", "expected a digit, found end of line"},
		{"a = 1e+\n", "1:8", "expected a digit"},
		{"a = 1e_5\n", "1:7", "'_' in a number must be between digits"},
		{"a = 1_.5\n", "1:6", "'_' in a number must be between digits"},
		{"a = 1._5\n", "1:7", "'_' in a number must be between digits"},
		{"a = 1.5.3\n", "1:8",
		 "unexpected character in number, found '.'"},
		{"a = 1e5.0\n", "1:8", "unexpected character in number"},
		{"a = 1-2\n", "1:6",
		 "unexpected character in number, found '-'"},
		{"a = 1e400\n", "1:5", "float is out of range"},
		{"a = -1e400\n", "1:5", "out of range"},
		{"a = Inf\n", "1:5", "invalid value Inf"},
		{"a = infinity\n", "1:5", "invalid value infinity"},
		{"a = NaN\n", "1:5", "invalid value NaN"},
		{"a = in_f\n", "1:5", "invalid value in_f"},
		{"a = --1\n", "1:5", "invalid value --1"},
		{"a = +\n", "1:6", "expected a digit, found end of line"},
		{"a = True\n", "1:5", "invalid value True"},
		{"a = truex\n", "1:5", "invalid value truex"},
		{"a = fals\n", "1:5", "invalid value fals"},
		{"a = [tru]\n", "1:6", "invalid value tru"},
		{"a = 1 2\n", "1:7", "after the value, found '2'"},
		{"a = 1,\n", "1:6", "after the value, found ','"},
	};
	CHECK_BAD_CASES(cases);
}

static void test_invalid_datetimes(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = 1979-13-01\n", "1:10", "month 13 is out of range"},
		{"a = 1979-00-01\n", "1:10", "month 00 is out of range"},
		{"a = 1979-01-00\n", "1:13", "day 00 is out of range"},
		{"a = 1979-01-32\n", "1:13", "day 32 is out of range"},
		{"a = 1979-02-29\n", "1:13",
		 "day 29 is out of range for 1979-02"},
		{"a = 1900-02-29\n", "1:13", "day 29 is out of range"},
		{"a = 1979-04-31\n", "1:13", "day 31 is out of range"},
		{"a = 1979-05-27T24:00:00\n", "1:16",
		 "hour 24 is out of range"},
		{"a = 1979-05-27T07:60:00\n", "1:19",
		 "minute 60 is out of range"},
		{"a = 07:00:61\n", "1:11", "second 61 is out of range"},
		{"a = 1979-05-27T07:32\n", "1:21",
		 "expected ':' in date-time, found end of line"},
		{"a = 07:32\n", "1:10", "expected ':' in date-time"},
		{"a = 1979-05-27 07:32\n", "1:21", "expected ':' in date-time"},
		{"a = 1979-05-27T07:32:00+25:00\n", "1:25",
		 "offset hour 25 is out of range"},
		{"a = 1979-05-27T07:32:00-07:60\n", "1:28",
		 "offset minute 60 is out of range"},
		{"a = 1979-05-27T07:32:00+07\n", "1:27",
		 "expected ':' in date-time, found end of line"},
		{"a = 1979-05-27T07:32:00+0700\n", "1:27", "expected ':'"},
		{"a = 1979-05-27T\n", "1:16", "expected a digit in date-time"},
		{"a = 1979-5-27\n", "1:11",
		 "expected a digit in date-time, found '-'"},
		{"a = 1979-05-7\n", "1:14", "expected a digit in date-time"},
		{"a = 7:32:00\n", "1:6", "after the value, found ':'"},
		{"a = 1979-05-27T07:32:00.\n", "1:25",
		 "expected a digit after '.' in time"},
		{"a = 07:32:00Z\n", "1:13", "after the value, found 'Z'"},
		{"a = 07:32:00-07:00\n", "1:13", "after the value, found '-'"},
		{"a = 1979-05-27T07:32:00Zx\n", "1:25", "found 'x'"},
		{"a = 1979-05-27X07:32:00\n", "1:15", "found 'X'"},
		{"a = 1979-05-2707:32:00\n", "1:15", "found '0'"},
		{"a = 10000-01-01\n", "1:10", "unexpected character in number"},
		{"a = 197-05-27\n", "1:8", "unexpected character in number"},
	};
	CHECK_BAD_CASES(cases);
}

static void test_invalid_encoding(void **state)
{
	(void)state;
	static const BadCase cases[] = {
		{"a = 1\rb = 2\n", "1:6",
		 "carriage return not followed by a line feed"},
		{"# x\ry\n", "1:4", "carriage return"},
		{"a = \"x\ry\"\n", "1:7", "carriage return"},
		{"a = 1\r", "1:6", "carriage return"},
		{"a = \"\xff\"\n", "1:6", "invalid UTF-8"},
		{"a = 1\n# \xc0\xaf overlong\n", "2:3", "invalid UTF-8"},
		{"a = \"\xed\xa0\x80\"\n", "1:6", "invalid UTF-8"},
		{"a = \"\xf4\x90\x80\x80\"\n", "1:6", "invalid UTF-8"},
		{"a = \"\xe2\x82", "1:6", "invalid UTF-8"},
		{"a = 1\n\xEF\xBB\xBF"
		 "b = 2\n",
		 "2:1", "expected a key, found U+FEFF"},
		{"\"\xC3\xA9\" = \"\xC3\xBC\" x\n", "1:11",
		 "after the value, found 'x'"},
		{"\xEF\xBB\xBF"
		 "a b\n",
		 "1:3", "expected '=' after key, found 'b'"},
		{"a = 1 # \x7f\n", "1:9",
		 "control character U+007F is not allowed in a comment"},
		{"# \x0b\n", "1:3", "control character U+000B"},
		{"a = 1\n\x0c\n", "2:1", "expected a key, found U+000C"},
	};
	CHECK_BAD_CASES(cases);

	/* NUL bytes need explicit lengths. */
	CHECK_BAD_LEN("a = 1\0\n", 7, "1:6", "NUL byte in document");
	CHECK_BAD_LEN("a = \"x\0y\"\n", 10, "1:7", "NUL byte in document");
	CHECK_BAD_LEN("# c\0\n", 5, "1:4", "NUL byte in document");
	CHECK_BAD_LEN("\0", 1, "1:1", "NUL byte in document");
}

/* Hostile nesting is refused instead of exhausting the stack. */
static void test_limits(void **state)
{
	(void)state;
	g_autoptr(GString) ok = g_string_new("a = ");
	for (int i = 0; i < 64; i++)
		g_string_append_c(ok, '[');
	for (int i = 0; i < 64; i++)
		g_string_append_c(ok, ']');
	g_autoptr(TomlValue) root = PARSE(ok->str);
	assert_non_null(root);

	g_autoptr(GString) deep = g_string_new("a = ");
	for (int i = 0; i < 65; i++)
		g_string_append(deep, "[{x=");
	CHECK_BAD_LEN(deep->str, deep->len, "1:133", "nested deeper than 64");

	g_autoptr(GString) key = g_string_new("a");
	for (int i = 1; i < 64; i++)
		g_string_append(key, ".a");
	g_autofree char *ok_key = g_strdup_printf("%s = 1\n", key->str);
	g_autoptr(TomlValue) keyed = PARSE(ok_key);
	assert_non_null(keyed);
	g_autofree char *long_key = g_strdup_printf("%s.a = 1\n", key->str);
	CHECK_BAD_LEN(long_key, strlen(long_key), "1:129",
		      "key has more than 64 parts");
}

/* ---- errors and names --------------------------------------------------- */

static void test_error_details(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	assert_null(toml_parse("x = ", 4, "/etc/berth/berth.conf", &error));
	assert_string_equal(error->message, "/etc/berth/berth.conf:1:5: "
					    "expected a value, found end of "
					    "input");
	assert_int_equal(berth_error_code(error), BERTH_ERROR_INVALID_ARGUMENT);
	g_clear_error(&error);

	assert_null(toml_parse("x", 1, NULL, &error));
	assert_true(g_str_has_prefix(error->message, "<input>:1:2: "));

	/* error may be NULL. */
	assert_null(toml_parse("[a]\n[a]\n", 8, "t.toml", NULL));
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
	assert_string_equal(toml_type_name(TOML_ARRAY), "array");
	assert_string_equal(toml_type_name(TOML_STRING), "string");
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_FLOAT), "float");
	assert_string_equal(toml_type_name(TOML_BOOLEAN), "boolean");
	assert_string_equal(toml_type_name(TOML_DATETIME), "datetime");

	g_autoptr(TomlValue) root = PARSE("s = ''\ni = 1\nf = 1.0\nb = true\n"
					  "d = 00:00:00\na = []\nt = {}\n");
	const TomlType want[] = {TOML_STRING,  TOML_INTEGER,  TOML_FLOAT,
				 TOML_BOOLEAN, TOML_DATETIME, TOML_ARRAY,
				 TOML_TABLE};
	for (guint i = 0; i < G_N_ELEMENTS(want); i++)
		assert_int_equal(toml_type(toml_table_value_at(root, i)),
				 want[i]);
}

/* ---- toml_quote_string -------------------------------------------------- */

static void test_quote_string(void **state)
{
	(void)state;
	struct {
		const char *in;
		const char *out;
	} exact[] = {
		{"", "\"\""},
		{"plain", "\"plain\""},
		{"a\"b\\c", "\"a\\\"b\\\\c\""},
		{"\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\""},
		{"\x01\x1f\x7f", "\"\\u0001\\u001F\\u007F\""},
		{"caf\xC3\xA9", "\"caf\xC3\xA9\""},
		{"bad\xff", "\"bad\\uFFFD\""},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(exact); i++) {
		g_autofree char *q = toml_quote_string(exact[i].in);
		assert_string_equal(q, exact[i].out);
	}

	const char *round[] = {
		"",
		"plain",
		"quote \" and backslash \\",
		"tab\tnewline\ncr\rff\fbs\b",
		"\x01\x02\x1b\x1f\x7f",
		"unicode \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80",
		"# not a comment",
		"'single'",
		"\"\"\"",
		"trailing backslash \\",
		"/run/berth/berth.sock",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(round); i++) {
		g_autofree char *q = toml_quote_string(round[i]);
		g_autofree char *doc =
			g_strdup_printf("k = %s\n%s = 1\n", q, q);
		g_autoptr(TomlValue) root = PARSE(doc);
		CHECK_STR(root, "k", round[i]);
		assert_non_null(toml_table_get(root, round[i]));
	}

	/* Invalid UTF-8 comes back as U+FFFD, never as an unparsable doc. */
	g_autofree char *q = toml_quote_string("a\xc0z");
	g_autofree char *doc = g_strdup_printf("k = %s\n", q);
	g_autoptr(TomlValue) root = PARSE(doc);
	CHECK_STR(root, "k", "a\xEF\xBF\xBDz");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_documents),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_dotted_keys_and_headers),
		cmocka_unit_test(test_array_of_tables),
		cmocka_unit_test(test_inline_tables),
		cmocka_unit_test(test_arrays),
		cmocka_unit_test(test_basic_strings),
		cmocka_unit_test(test_multiline_basic_strings),
		cmocka_unit_test(test_literal_strings),
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_floats),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_datetimes),
		cmocka_unit_test(test_positions),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_crio_like_document),
		cmocka_unit_test(test_invalid_syntax),
		cmocka_unit_test(test_invalid_duplicate_keys),
		cmocka_unit_test(test_invalid_table_definitions),
		cmocka_unit_test(test_invalid_strings),
		cmocka_unit_test(test_invalid_numbers),
		cmocka_unit_test(test_invalid_datetimes),
		cmocka_unit_test(test_invalid_encoding),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_error_details),
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_quote_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
