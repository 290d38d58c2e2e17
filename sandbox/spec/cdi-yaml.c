/* YAML CDI spec files read with libyaml's event parser into the same JSON
 * tree a JSON file gives, so one checker serves both. One document per
 * file; anchors and aliases work; other tags than the core ones do not. */
#include "sandbox/spec/cdi-private.h"
#include "util/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64

typedef struct {
	yaml_parser_t parser;
	const char *path;
	GHashTable *anchors; /* name -> json_t (a reference held) */
	GHashTable *raw;     /* json_t number -> its text; may be NULL */
	GError **error;
} YamlReader;

static gboolean yaml_fail_parser(YamlReader *y)
{
	const yaml_parser_t *p = &y->parser;
	return berth_throw(y->error, INVALID_ARGUMENT,
			   "%s:%zu:%zu: YAML: %s%s%s", y->path,
			   p->problem_mark.line + 1, p->problem_mark.column + 1,
			   p->problem ? p->problem : "cannot parse",
			   p->context ? " " : "", p->context ? p->context : "");
}

static gboolean yaml_fail_at(YamlReader *y, const yaml_event_t *ev,
			     const char *what)
{
	return berth_throw(y->error, INVALID_ARGUMENT, "%s:%zu:%zu: YAML: %s",
			   y->path, ev->start_mark.line + 1,
			   ev->start_mark.column + 1, what);
}

static gboolean next_event(YamlReader *y, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&y->parser, ev))
		return yaml_fail_parser(y);
	return TRUE;
}

/* [-+]?digits, 0o/0x forms, and YAML 1.1's 0NNN octal (Go's YAML reads
 * "fileMode: 0666" so). FALSE: not an integer. */
static gboolean scalar_int(const char *s, json_int_t *out)
{
	const char *p = s + (*s == '-' || *s == '+');
	int base = 10;
	if (p[0] == '0' && (p[1] == 'o' || p[1] == 'x')) {
		base = p[1] == 'o' ? 8 : 16;
		p += 2;
	} else if (p[0] == '0' && p[1] != '\0') {
		base = 8;
	}
	if (*p == '\0' ||
	    (base == 16 ? !g_ascii_isxdigit(*p) : !g_ascii_isdigit(*p)))
		return FALSE;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(p, &end, base);
	if (*end != '\0' || errno != 0)
		return FALSE;
	*out = *s == '-' ? -v : v;
	return TRUE;
}

/* A decimal real ("1.5", "-.5", "2e3"); no inf/nan, no hex. */
static gboolean scalar_real(const char *s, double *out)
{
	if (s[strspn(s, "0123456789+-.eE")] != '\0' ||
	    strpbrk(s, "0123456789") == NULL)
		return FALSE;
	char *end = NULL;
	*out = g_ascii_strtod(s, &end);
	return *end == '\0';
}

static json_t *plain_scalar(const char *s)
{
	static const char *const nulls[] = {"",	    "~",    "null",
					    "Null", "NULL", NULL};
	static const char *const trues[] = {"true", "True", "TRUE", NULL};
	static const char *const falses[] = {"false", "False", "FALSE", NULL};
	json_int_t i;
	double d;
	if (g_strv_contains(nulls, s))
		return json_null();
	if (g_strv_contains(trues, s))
		return json_true();
	if (g_strv_contains(falses, s))
		return json_false();
	if (scalar_int(s, &i))
		return json_integer(i);
	if (scalar_real(s, &d))
		return json_real(d);
	return json_string(s);
}

static json_t *scalar(YamlReader *y, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	if (strlen(s) != ev->data.scalar.length)
		return yaml_fail_at(y, ev, "a scalar holds a NUL byte"), NULL;
	if (tag != NULL && strcmp(tag, "!") == 0) /* non-specific: a string */
		return json_string(s);
	if (tag == NULL) {
		if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			return json_string(s);
		json_t *v = plain_scalar(s);
		if (json_is_number(v) && y->raw != NULL)
			g_hash_table_insert(y->raw, v, g_strdup(s));
		return v;
	}
	if (strcmp(tag, YAML_STR_TAG) == 0)
		return json_string(s);
	json_t *v = plain_scalar(s);
	gboolean ok = (strcmp(tag, YAML_INT_TAG) == 0 && json_is_integer(v)) ||
		      (strcmp(tag, YAML_BOOL_TAG) == 0 && json_is_boolean(v)) ||
		      (strcmp(tag, YAML_NULL_TAG) == 0 && json_is_null(v)) ||
		      (strcmp(tag, YAML_FLOAT_TAG) == 0 && json_is_number(v));
	if (!ok) {
		json_decref(v);
		g_autofree char *msg =
			g_strdup_printf("unsupported tag %s on \"%s\"", tag, s);
		yaml_fail_at(y, ev, msg);
		return NULL;
	}
	return v;
}

static json_t *node(YamlReader *y, yaml_event_t *ev, int depth);

/* Fill a collection until its end event; ev is its start event. */
static gboolean collection(YamlReader *y, json_t *c, int depth)
{
	gboolean is_map = json_is_object(c);
	for (;;) {
		yaml_event_t ev;
		if (!next_event(y, &ev))
			return FALSE;
		if (ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			return TRUE;
		}
		if (!is_map) {
			json_t *v = node(y, &ev, depth + 1);
			yaml_event_delete(&ev);
			if (v == NULL)
				return FALSE;
			json_array_append_new(c, v);
			continue;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			yaml_fail_at(y, &ev, "a mapping key is not a scalar");
			yaml_event_delete(&ev);
			return FALSE;
		}
		g_autofree char *key =
			g_strdup((const char *)ev.data.scalar.value);
		gboolean dup = json_object_get(c, key) != NULL;
		if (dup) {
			g_autofree char *msg =
				g_strdup_printf("duplicate key \"%s\"", key);
			yaml_fail_at(y, &ev, msg);
		}
		yaml_event_delete(&ev);
		if (dup || !next_event(y, &ev))
			return FALSE;
		json_t *v = node(y, &ev, depth + 1);
		yaml_event_delete(&ev);
		if (v == NULL)
			return FALSE;
		json_object_set_new(c, key, v);
	}
}

static void remember_anchor(YamlReader *y, const yaml_char_t *anchor, json_t *v)
{
	if (anchor != NULL)
		g_hash_table_replace(y->anchors, g_strdup((const char *)anchor),
				     json_incref(v));
}

static json_t *node(YamlReader *y, yaml_event_t *ev, int depth)
{
	if (depth > YAML_MAX_DEPTH)
		return yaml_fail_at(y, ev, "nested too deep"), NULL;
	json_t *v = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		v = scalar(y, ev);
		if (v != NULL)
			remember_anchor(y, ev->data.scalar.anchor, v);
		return v;
	case YAML_ALIAS_EVENT:
		v = g_hash_table_lookup(y->anchors,
					(const char *)ev->data.alias.anchor);
		if (v == NULL)
			yaml_fail_at(y, ev, "alias to an unknown anchor");
		return v ? json_incref(v) : NULL;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		gboolean map = ev->type == YAML_MAPPING_START_EVENT;
		v = map ? json_object() : json_array();
		if (!collection(y, v, depth)) {
			json_decref(v);
			return NULL;
		}
		remember_anchor(y,
				map ? ev->data.mapping_start.anchor
				    : ev->data.sequence_start.anchor,
				v);
		return v;
	}
	default:
		yaml_fail_at(y, ev, "unexpected event");
		return NULL;
	}
}

static gboolean expect(YamlReader *y, yaml_event_type_t type, const char *what)
{
	yaml_event_t ev;
	if (!next_event(y, &ev))
		return FALSE;
	gboolean ok = ev.type == type;
	if (!ok)
		yaml_fail_at(y, &ev, what);
	yaml_event_delete(&ev);
	return ok;
}

/* STREAM-START DOCUMENT-START node DOCUMENT-END STREAM-END, nothing
 * else. */
static json_t *document(YamlReader *y)
{
	if (!expect(y, YAML_STREAM_START_EVENT, "no stream") ||
	    !expect(y, YAML_DOCUMENT_START_EVENT, "the file holds no document"))
		return NULL;
	yaml_event_t ev;
	if (!next_event(y, &ev))
		return NULL;
	json_t *root = node(y, &ev, 0);
	yaml_event_delete(&ev);
	if (root != NULL &&
	    (!expect(y, YAML_DOCUMENT_END_EVENT, "no document end") ||
	     !expect(y, YAML_STREAM_END_EVENT, "more than one document")))
		g_clear_pointer(&root, json_decref);
	return root;
}

json_t *cdi_yaml_to_json(const char *data, gsize len, const char *path,
			 GHashTable *raw, GError **error)
{
	YamlReader y = {.path = path, .raw = raw, .error = error};
	if (!yaml_parser_initialize(&y.parser))
		return berth_throw_null(error, RESOURCE_EXHAUSTED,
					"%s: cannot start the YAML parser",
					path);
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)data,
				     len);
	y.anchors = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)json_decref);
	json_t *root = document(&y);
	g_hash_table_unref(y.anchors);
	yaml_parser_delete(&y.parser);
	return root;
}
