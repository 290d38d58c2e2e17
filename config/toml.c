/* The TOML document tree and the parser that builds it: table headers,
 * key/value lines, arrays, inline tables, and the TOML 1.0 rules on which
 * tables may be defined or extended from where. Scalars come from
 * config/toml-lex.c. */
#include "config/toml.h"
#include "config/toml-lex.h"
#include "util/error.h"

#include <string.h>

/* How a table came to exist, which decides what may add to it later:
 * IMPLICIT  a prefix of a header ([a.b] creates a); [a] may still follow.
 * HEADER    defined by [header], an element of [[header]], or the root.
 * DOTTED    created by a dotted key (a.b = 1 creates a).
 * INLINE    { ... } and every table inside one: sealed. */
typedef enum {
	TABLE_IMPLICIT,
	TABLE_HEADER,
	TABLE_DOTTED,
	TABLE_INLINE,
} TableKind;

typedef struct {
	char *key;
	TomlValue *value;
	guint line, col; /* where the key was first written */
} TomlEntry;

struct TomlValue {
	TomlType type;
	guint line, col;
	union {
		/* entries: TomlEntry * in document order; index: key to
		 * TomlEntry *, its keys borrowed from the entries. */
		struct {
			GPtrArray *entries;
			GHashTable *index;
			TableKind kind;
		} table;
		/* of_tables: made by [[header]], so later headers may grow
		 * it; any other array is complete when its ] closes. */
		struct {
			GPtrArray *items;
			gboolean of_tables;
		} array;
		char *str; /* STRING and DATETIME */
		gint64 integer;
		double flt;
		gboolean boolean;
	} u;
};

typedef struct {
	TomlLexer *lx;
	TomlValue *current; /* the table key/value lines go into */
	guint nesting;	    /* arrays and inline tables we are inside */
} TomlParser;

/* ---- the tree ----------------------------------------------------------- */

static void entry_free(gpointer p)
{
	TomlEntry *e = p;
	g_free(e->key);
	toml_value_free(e->value);
	g_free(e);
}

void toml_value_free(TomlValue *v)
{
	if (v == NULL)
		return;
	switch (v->type) {
	case TOML_TABLE:
		g_hash_table_unref(v->u.table.index);
		g_ptr_array_unref(v->u.table.entries);
		break;
	case TOML_ARRAY:
		g_ptr_array_unref(v->u.array.items);
		break;
	case TOML_STRING:
	case TOML_DATETIME:
		g_free(v->u.str);
		break;
	default:
		break;
	}
	g_free(v);
}

static TomlValue *value_new(TomlType type, const TomlLexer *lx, gsize off)
{
	TomlValue *v = g_new0(TomlValue, 1);
	v->type = type;
	toml_lex_position(lx, off, &v->line, &v->col);
	if (type == TOML_TABLE) {
		v->u.table.entries = g_ptr_array_new_with_free_func(entry_free);
		v->u.table.index = g_hash_table_new(g_str_hash, g_str_equal);
	} else if (type == TOML_ARRAY) {
		v->u.array.items = g_ptr_array_new_with_free_func(
			(GDestroyNotify)toml_value_free);
	}
	return v;
}

static TomlValue *table_new(TableKind kind, const TomlLexer *lx, gsize off)
{
	TomlValue *t = value_new(TOML_TABLE, lx, off);
	t->u.table.kind = kind;
	return t;
}

static TomlEntry *table_lookup(const TomlValue *t, const char *key)
{
	return g_hash_table_lookup(t->u.table.index, key);
}

/* Takes value; the caller has checked that key is new. */
static void table_insert(TomlValue *t, const char *key, TomlValue *value,
			 const TomlLexer *lx, gsize key_off)
{
	TomlEntry *e = g_new0(TomlEntry, 1);
	e->key = g_strdup(key);
	e->value = value;
	toml_lex_position(lx, key_off, &e->line, &e->col);
	g_ptr_array_add(t->u.table.entries, e);
	g_hash_table_insert(t->u.table.index, e->key, e);
}

/* An inline table is complete once its brace closes: nothing, not even a
 * table created inside it by dotted keys, may be added to afterwards. */
static void table_seal(TomlValue *t)
{
	t->u.table.kind = TABLE_INLINE;
	for (guint i = 0; i < t->u.table.entries->len; i++) {
		TomlEntry *e = t->u.table.entries->pdata[i];
		if (e->value->type == TOML_TABLE)
			table_seal(e->value);
	}
}

/* ---- messages ----------------------------------------------------------- */

static gboolean is_bare_key(const char *s)
{
	if (*s == '\0')
		return FALSE;
	for (; *s != '\0'; s++) {
		if (!g_ascii_isalnum(*s) && *s != '_' && *s != '-')
			return FALSE;
	}
	return TRUE;
}

/* parts[0..last] written back as a TOML key, for messages. */
static char *key_path(GPtrArray *parts, guint last)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i <= last; i++) {
		const char *name = ((TomlKeyPart *)parts->pdata[i])->name;
		if (i > 0)
			g_string_append_c(s, '.');
		if (is_bare_key(name)) {
			g_string_append(s, name);
		} else {
			g_autofree char *q = toml_quote_string(name);
			g_string_append(s, q);
		}
	}
	return g_string_free(s, FALSE);
}

const char *toml_type_article(TomlType t)
{
	switch (t) {
	case TOML_TABLE:
		return "a table";
	case TOML_ARRAY:
		return "an array";
	case TOML_STRING:
		return "a string";
	case TOML_INTEGER:
		return "an integer";
	case TOML_FLOAT:
		return "a float";
	case TOML_BOOLEAN:
		return "a boolean";
	case TOML_DATETIME:
		return "a date-time";
	}
	return "a value";
}

/* What v is, as the object of "it is already ...". */
static const char *describe_value(const TomlValue *v)
{
	static const char *const tables[] = {
		[TABLE_IMPLICIT] = "a table created by a [header]",
		[TABLE_HEADER] = "a table defined by a [header]",
		[TABLE_DOTTED] = "a table created by dotted keys",
		[TABLE_INLINE] = "an inline table",
	};
	if (v->type == TOML_TABLE)
		return tables[v->u.table.kind];
	if (v->type == TOML_ARRAY && v->u.array.of_tables)
		return "an array of tables";
	return toml_type_article(v->type);
}

/* Fail at key part i because the entry e already there forbids what the
 * key tries to do (what: "duplicate key", "cannot define table", ...). */
static gboolean fail_conflict(const TomlParser *p, GPtrArray *key, guint i,
			      const TomlEntry *e, const char *what,
			      GError **error)
{
	g_autofree char *path = key_path(key, i);
	const TomlKeyPart *part = key->pdata[i];

	return toml_lex_fail(p->lx, part->off, error,
			     "%s `%s`: it is already %s (from %u:%u)", what,
			     path, describe_value(e->value), e->line, e->col);
}

/* ---- key/value lines ---------------------------------------------------- */

static TomlValue *parse_value(TomlParser *p, GError **error);

/* The table a key/value line's last key part goes into, creating the
 * tables named by the dotted parts before it. Dotted keys may only extend
 * tables that dotted keys of this same table created. */
static TomlValue *dotted_parent(TomlParser *p, TomlValue *t, GPtrArray *key,
				GError **error)
{
	for (guint i = 0; i + 1 < key->len; i++) {
		TomlKeyPart *part = key->pdata[i];
		TomlEntry *e = table_lookup(t, part->name);
		if (e == NULL) {
			TomlValue *child =
				table_new(TABLE_DOTTED, p->lx, part->off);
			table_insert(t, part->name, child, p->lx, part->off);
			t = child;
			continue;
		}
		if (e->value->type != TOML_TABLE ||
		    e->value->u.table.kind != TABLE_DOTTED) {
			fail_conflict(p, key, i, e, "dotted key cannot extend",
				      error);
			return NULL;
		}
		t = e->value;
	}
	return t;
}

static gboolean parse_keyval(TomlParser *p, TomlValue *table, GError **error)
{
	TomlLexer *lx = p->lx;
	g_autoptr(GPtrArray) key =
		g_ptr_array_new_with_free_func(toml_key_part_free);

	if (!toml_lex_key(lx, key, error))
		return FALSE;
	TomlValue *dest = dotted_parent(p, table, key, error);
	if (dest == NULL)
		return FALSE;
	guint last = key->len - 1;
	TomlKeyPart *part = key->pdata[last];
	TomlEntry *e = table_lookup(dest, part->name);
	if (e != NULL)
		return fail_conflict(p, key, last, e, "duplicate key", error);

	if (toml_lex_peek(lx, 0) != '=') {
		g_autofree char *what = toml_lex_describe(lx, lx->pos);
		return toml_lex_fail(lx, lx->pos, error,
				     "expected '=' after key, found %s", what);
	}
	lx->pos++;
	toml_lex_skip_ws(lx);
	TomlValue *v = parse_value(p, error);
	if (v == NULL)
		return FALSE;
	table_insert(dest, part->name, v, lx, part->off);
	return TRUE;
}

/* ---- arrays and inline tables ------------------------------------------- */

static TomlValue *fail_found_null(const TomlLexer *lx, const char *expected,
				  GError **error)
{
	g_autofree char *what = toml_lex_describe(lx, lx->pos);
	toml_lex_fail(lx, lx->pos, error, "%s, found %s", expected, what);
	return NULL;
}

/* [ values separated by commas; newlines, comments and a trailing comma
 * allowed ] */
static TomlValue *parse_array(TomlParser *p, GError **error)
{
	TomlLexer *lx = p->lx;
	g_autoptr(TomlValue) arr = value_new(TOML_ARRAY, lx, lx->pos);

	lx->pos++;
	for (;;) {
		if (!toml_lex_skip_blank(lx, error))
			return NULL;
		if (toml_lex_peek(lx, 0) == ']')
			break;
		TomlValue *item = parse_value(p, error);
		if (item == NULL)
			return NULL;
		g_ptr_array_add(arr->u.array.items, item);
		if (!toml_lex_skip_blank(lx, error))
			return NULL;
		if (toml_lex_peek(lx, 0) == ']')
			break;
		if (toml_lex_peek(lx, 0) != ',')
			return fail_found_null(
				lx, "expected ',' or ']' in array", error);
		lx->pos++;
	}
	lx->pos++;
	return g_steal_pointer(&arr);
}

/* { key = value, ... } on one line, without a trailing comma. */
static TomlValue *parse_inline_table(TomlParser *p, GError **error)
{
	TomlLexer *lx = p->lx;
	g_autoptr(TomlValue) t = table_new(TABLE_INLINE, lx, lx->pos);

	lx->pos++;
	toml_lex_skip_ws(lx);
	if (toml_lex_peek(lx, 0) != '}') {
		for (;;) {
			if (!parse_keyval(p, t, error))
				return NULL;
			toml_lex_skip_ws(lx);
			if (toml_lex_peek(lx, 0) == '}')
				break;
			if (toml_lex_peek(lx, 0) != ',')
				return fail_found_null(
					lx,
					"expected ',' or '}' in inline table",
					error);
			gsize comma = lx->pos++;
			toml_lex_skip_ws(lx);
			if (toml_lex_peek(lx, 0) == '}') {
				toml_lex_fail(
					lx, comma, error,
					"trailing comma is not allowed in "
					"an inline table");
				return NULL;
			}
		}
	}
	lx->pos++;
	table_seal(t);
	return g_steal_pointer(&t);
}

static TomlValue *parse_value(TomlParser *p, GError **error)
{
	TomlLexer *lx = p->lx;
	gsize off = lx->pos;
	int c = toml_lex_peek(lx, 0);

	if (c == '[' || c == '{') {
		if (p->nesting == TOML_MAX_NESTING) {
			toml_lex_fail(lx, off, error,
				      "arrays and inline tables nested deeper "
				      "than %d",
				      TOML_MAX_NESTING);
			return NULL;
		}
		p->nesting++;
		TomlValue *v = c == '[' ? parse_array(p, error)
					: parse_inline_table(p, error);
		p->nesting--;
		return v;
	}

	TomlScalar sc;
	if (!toml_lex_scalar(lx, &sc, error))
		return NULL;
	TomlValue *v = value_new(sc.type, lx, off);
	switch (sc.type) {
	case TOML_INTEGER:
		v->u.integer = sc.integer;
		break;
	case TOML_FLOAT:
		v->u.flt = sc.flt;
		break;
	case TOML_BOOLEAN:
		v->u.boolean = sc.boolean;
		break;
	default:
		v->u.str = sc.str;
	}
	return v;
}

/* ---- table headers ------------------------------------------------------ */

/* The table that the last part of a [header] or [[header]] goes into.
 * Missing tables on the way are created implicitly; an array of tables
 * stands for its last element. */
static TomlValue *header_parent(TomlParser *p, TomlValue *t, GPtrArray *key,
				GError **error)
{
	for (guint i = 0; i + 1 < key->len; i++) {
		TomlKeyPart *part = key->pdata[i];
		TomlEntry *e = table_lookup(t, part->name);
		if (e == NULL) {
			TomlValue *child =
				table_new(TABLE_IMPLICIT, p->lx, part->off);
			table_insert(t, part->name, child, p->lx, part->off);
			t = child;
			continue;
		}
		TomlValue *v = e->value;
		if (v->type == TOML_ARRAY && v->u.array.of_tables)
			v = g_ptr_array_index(v->u.array.items,
					      v->u.array.items->len - 1);
		if (v->type != TOML_TABLE || v->u.table.kind == TABLE_INLINE) {
			fail_conflict(p, key, i, e, "cannot define a table in",
				      error);
			return NULL;
		}
		t = v;
	}
	return t;
}

/* [key]: a new table, or one so far only implied by an earlier header. */
static TomlValue *define_table(TomlParser *p, TomlValue *parent, GPtrArray *key,
			       gsize header_off, GError **error)
{
	guint last = key->len - 1;
	TomlKeyPart *part = key->pdata[last];
	TomlEntry *e = table_lookup(parent, part->name);

	if (e == NULL) {
		TomlValue *t = table_new(TABLE_HEADER, p->lx, header_off);
		table_insert(parent, part->name, t, p->lx, part->off);
		return t;
	}
	if (e->value->type == TOML_TABLE &&
	    e->value->u.table.kind == TABLE_IMPLICIT) {
		e->value->u.table.kind = TABLE_HEADER;
		toml_lex_position(p->lx, header_off, &e->value->line,
				  &e->value->col);
		return e->value;
	}
	fail_conflict(p, key, last, e, "cannot define table", error);
	return NULL;
}

/* [[key]]: a new table appended to the array of tables key. */
static TomlValue *append_table(TomlParser *p, TomlValue *parent, GPtrArray *key,
			       gsize header_off, GError **error)
{
	guint last = key->len - 1;
	TomlKeyPart *part = key->pdata[last];
	TomlEntry *e = table_lookup(parent, part->name);
	TomlValue *arr;

	if (e == NULL) {
		arr = value_new(TOML_ARRAY, p->lx, header_off);
		arr->u.array.of_tables = TRUE;
		table_insert(parent, part->name, arr, p->lx, part->off);
	} else if (e->value->type == TOML_ARRAY &&
		   e->value->u.array.of_tables) {
		arr = e->value;
	} else {
		fail_conflict(p, key, last, e, "cannot define array of tables",
			      error);
		return NULL;
	}
	TomlValue *t = table_new(TABLE_HEADER, p->lx, header_off);
	g_ptr_array_add(arr->u.array.items, t);
	return t;
}

static gboolean parse_header(TomlParser *p, TomlValue *root, GError **error)
{
	TomlLexer *lx = p->lx;
	gsize start = lx->pos;
	gboolean aot = toml_lex_peek(lx, 1) == '[';
	g_autoptr(GPtrArray) key =
		g_ptr_array_new_with_free_func(toml_key_part_free);

	lx->pos += aot ? 2 : 1;
	if (!toml_lex_key(lx, key, error))
		return FALSE;
	if (toml_lex_peek(lx, 0) != ']' ||
	    (aot && toml_lex_peek(lx, 1) != ']')) {
		if (toml_lex_peek(lx, 0) == ']')
			lx->pos++;
		g_autofree char *what = toml_lex_describe(lx, lx->pos);
		return toml_lex_fail(lx, lx->pos, error,
				     "expected '%s' to close the header, "
				     "found %s",
				     aot ? "]]" : "]", what);
	}
	lx->pos += aot ? 2 : 1;

	TomlValue *parent = header_parent(p, root, key, error);
	if (parent == NULL)
		return FALSE;
	p->current = aot ? append_table(p, parent, key, start, error)
			 : define_table(p, parent, key, start, error);
	return p->current != NULL;
}

/* ---- the document ------------------------------------------------------- */

/* After a key/value or header: blanks, maybe a comment, then a newline or
 * the end of the document. */
static gboolean end_of_line(TomlLexer *lx, const char *after, GError **error)
{
	toml_lex_skip_ws(lx);
	if (!toml_lex_skip_comment(lx, error))
		return FALSE;
	if (lx->pos == lx->len || toml_lex_newline(lx))
		return TRUE;
	g_autofree char *what = toml_lex_describe(lx, lx->pos);
	return toml_lex_fail(lx, lx->pos, error,
			     "expected a newline or comment after the %s, "
			     "found %s",
			     after, what);
}

static gboolean parse_document(TomlParser *p, TomlValue *root, GError **error)
{
	TomlLexer *lx = p->lx;

	for (;;) {
		toml_lex_skip_ws(lx);
		int c = toml_lex_peek(lx, 0);
		const char *after = "value";
		if (c < 0)
			return TRUE;
		if (c == '[') {
			if (!parse_header(p, root, error))
				return FALSE;
			after = "table header";
		} else if (c != '#' && !toml_lex_at_newline(lx)) {
			if (!parse_keyval(p, p->current, error))
				return FALSE;
		}
		if (!end_of_line(lx, after, error))
			return FALSE;
	}
}

TomlValue *toml_parse(const char *text, gsize len, const char *filename,
		      GError **error)
{
	g_auto(TomlLexer) lx = {0};

	g_return_val_if_fail(text != NULL || len == 0, NULL);
	if (!toml_lex_init(&lx, text != NULL ? text : "", len, filename, error))
		return NULL;

	g_autoptr(TomlValue) root = table_new(TABLE_HEADER, &lx, 0);
	TomlParser p = {.lx = &lx, .current = root};
	gboolean ok = parse_document(&p, root, error);
	return ok ? g_steal_pointer(&root) : NULL;
}

/* ---- accessors ---------------------------------------------------------- */

TomlType toml_type(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL, TOML_TABLE);
	return v->type;
}

const char *toml_type_name(TomlType t)
{
	static const char *const names[] = {
		[TOML_TABLE] = "table",	      [TOML_ARRAY] = "array",
		[TOML_STRING] = "string",     [TOML_INTEGER] = "integer",
		[TOML_FLOAT] = "float",	      [TOML_BOOLEAN] = "boolean",
		[TOML_DATETIME] = "datetime",
	};
	if ((guint)t >= G_N_ELEMENTS(names))
		return "unknown";
	return names[t];
}

guint toml_line(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL, 0);
	return v->line;
}

guint toml_col(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL, 0);
	return v->col;
}

static const TomlEntry *entry_at(const TomlValue *t, guint i)
{
	g_return_val_if_fail(t != NULL && t->type == TOML_TABLE, NULL);
	g_return_val_if_fail(i < t->u.table.entries->len, NULL);
	return t->u.table.entries->pdata[i];
}

guint toml_table_size(const TomlValue *t)
{
	g_return_val_if_fail(t != NULL && t->type == TOML_TABLE, 0);
	return t->u.table.entries->len;
}

const char *toml_table_key_at(const TomlValue *t, guint i)
{
	const TomlEntry *e = entry_at(t, i);
	return e != NULL ? e->key : NULL;
}

const TomlValue *toml_table_value_at(const TomlValue *t, guint i)
{
	const TomlEntry *e = entry_at(t, i);
	return e != NULL ? e->value : NULL;
}

guint toml_key_line(const TomlValue *t, guint i)
{
	const TomlEntry *e = entry_at(t, i);
	return e != NULL ? e->line : 0;
}

guint toml_key_col(const TomlValue *t, guint i)
{
	const TomlEntry *e = entry_at(t, i);
	return e != NULL ? e->col : 0;
}

const TomlValue *toml_table_get(const TomlValue *t, const char *key)
{
	g_return_val_if_fail(t != NULL && t->type == TOML_TABLE, NULL);
	g_return_val_if_fail(key != NULL, NULL);
	const TomlEntry *e = table_lookup(t, key);
	return e != NULL ? e->value : NULL;
}

guint toml_array_len(const TomlValue *a)
{
	g_return_val_if_fail(a != NULL && a->type == TOML_ARRAY, 0);
	return a->u.array.items->len;
}

const TomlValue *toml_array_get(const TomlValue *a, guint i)
{
	g_return_val_if_fail(a != NULL && a->type == TOML_ARRAY, NULL);
	g_return_val_if_fail(i < a->u.array.items->len, NULL);
	return a->u.array.items->pdata[i];
}

const char *toml_string(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL && (v->type == TOML_STRING ||
					   v->type == TOML_DATETIME),
			     NULL);
	return v->u.str;
}

gint64 toml_integer(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL && v->type == TOML_INTEGER, 0);
	return v->u.integer;
}

double toml_float(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL && v->type == TOML_FLOAT, 0.0);
	return v->u.flt;
}

gboolean toml_boolean(const TomlValue *v)
{
	g_return_val_if_fail(v != NULL && v->type == TOML_BOOLEAN, FALSE);
	return v->u.boolean;
}

/* ---- writing ------------------------------------------------------------ */

/* The two-character escape for c, or NULL if it has none. */
static const char *short_escape(gunichar c)
{
	switch (c) {
	case '"':
		return "\\\"";
	case '\\':
		return "\\\\";
	case '\b':
		return "\\b";
	case '\t':
		return "\\t";
	case '\n':
		return "\\n";
	case '\f':
		return "\\f";
	case '\r':
		return "\\r";
	default:
		return NULL;
	}
}

char *toml_quote_string(const char *s)
{
	GString *out = g_string_new("\"");
	const char *end = s + strlen(s);

	while (s < end) {
		gunichar c = g_utf8_get_char_validated(s, end - s);
		if ((gint32)c < 0) {
			g_string_append(out, "\\uFFFD");
			s++;
			continue;
		}
		const char *next = g_utf8_next_char(s);
		const char *esc = short_escape(c);
		if (esc != NULL)
			g_string_append(out, esc);
		else if (c < 0x20 || c == 0x7f)
			g_string_append_printf(out, "\\u%04X", c);
		else
			g_string_append_len(out, s, next - s);
		s = next;
	}
	g_string_append_c(out, '"');
	return g_string_free(out, FALSE);
}
