/* Reflection-driven JSON mapping of protobuf-c messages (see pbjson.h).
 * Memory of parsed messages comes from malloc, which is what
 * protobuf_c_message_free_unpacked releases with the default allocator. */
#include "client/pbjson.h"
#include "util/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static gsize scalar_size(ProtobufCType type)
{
	switch (type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_FLOAT:
		return sizeof(float);
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	}
	return 0;
}

char *ctl_pbjson_camel(const char *name)
{
	GString *s = g_string_new(NULL);
	gboolean up = FALSE;
	for (const char *p = name; *p; p++) {
		if (*p == '_') {
			up = TRUE;
			continue;
		}
		g_string_append_c(s, up ? g_ascii_toupper(*p) : *p);
		up = FALSE;
	}
	return g_string_free(s, FALSE);
}

gboolean ctl_pbjson_key_matches(const char *key, const char *field)
{
	const char *a = key, *b = field;
	for (;;) {
		while (*a == '_')
			a++;
		while (*b == '_')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (g_ascii_tolower(*a) != g_ascii_tolower(*b))
			return FALSE;
		a++;
		b++;
	}
}

static gboolean is_map_entry(const ProtobufCMessageDescriptor *d)
{
	return d != NULL && d->n_fields == 2 &&
	       g_str_has_suffix(d->name, "Entry") &&
	       strcmp(d->fields[0].name, "key") == 0 &&
	       strcmp(d->fields[1].name, "value") == 0;
}

/* --- parsing ------------------------------------------------------------ */

static gboolean parse_value(const ProtobufCFieldDescriptor *f, json_t *j,
			    void *out, const char *where, GError **error);

static gboolean json_int(json_t *j, gint64 *out)
{
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return TRUE;
	}
	if (json_is_real(j)) {
		*out = (gint64)json_real_value(j);
		return TRUE;
	}
	if (json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end = NULL;
		errno = 0;
		*out = g_ascii_strtoll(s, &end, 10);
		return errno == 0 && end != s && *end == '\0';
	}
	return FALSE;
}

static gboolean parse_enum(const ProtobufCFieldDescriptor *f, json_t *j,
			   int32_t *out)
{
	const ProtobufCEnumDescriptor *ed = f->descriptor;
	if (json_is_string(j)) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value_by_name(
				ed, json_string_value(j));
		if (v == NULL)
			return FALSE;
		*out = v->value;
		return TRUE;
	}
	gint64 n;
	if (!json_int(j, &n))
		return FALSE;
	*out = (int32_t)n;
	return TRUE;
}

static gboolean parse_scalar(const ProtobufCFieldDescriptor *f, json_t *j,
			     void *out)
{
	gint64 n;
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (!json_int(j, &n))
			return FALSE;
		*(int32_t *)out = (int32_t)n;
		return TRUE;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (!json_int(j, &n))
			return FALSE;
		*(uint32_t *)out = (uint32_t)n;
		return TRUE;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (!json_int(j, &n))
			return FALSE;
		*(int64_t *)out = n;
		return TRUE;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (json_is_string(j)) {
			const char *s = json_string_value(j);
			char *end = NULL;
			errno = 0;
			*(uint64_t *)out = g_ascii_strtoull(s, &end, 10);
			return errno == 0 && end != s && *end == '\0';
		}
		if (!json_int(j, &n))
			return FALSE;
		*(uint64_t *)out = (uint64_t)n;
		return TRUE;
	case PROTOBUF_C_TYPE_FLOAT:
		if (!json_is_number(j))
			return FALSE;
		*(float *)out = (float)json_number_value(j);
		return TRUE;
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_is_number(j))
			return FALSE;
		*(double *)out = json_number_value(j);
		return TRUE;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_is_boolean(j))
			return FALSE;
		*(protobuf_c_boolean *)out = json_is_true(j);
		return TRUE;
	case PROTOBUF_C_TYPE_ENUM:
		return parse_enum(f, j, out);
	case PROTOBUF_C_TYPE_STRING:
		if (!json_is_string(j))
			return FALSE;
		*(char **)out = strdup(json_string_value(j));
		return TRUE;
	case PROTOBUF_C_TYPE_BYTES: {
		/* The text itself, not base64: the one bytes field a config
		 * holds (KeyValue.value, an env value) is a string in
		 * upstream CRI, and crictl files write it so. */
		if (!json_is_string(j))
			return FALSE;
		ProtobufCBinaryData *b = out;
		b->len = json_string_length(j);
		b->data = malloc(b->len ? b->len : 1);
		memcpy(b->data, json_string_value(j), b->len);
		return TRUE;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
	return FALSE;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = malloc(d->sizeof_message);
	protobuf_c_message_init(d, m);
	return m;
}

static gboolean fill(ProtobufCMessage *msg, json_t *json, const char *where,
		     GError **error);

static gboolean parse_value(const ProtobufCFieldDescriptor *f, json_t *j,
			    void *out, const char *where, GError **error)
{
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		if (json_is_null(j))
			return TRUE;
		ProtobufCMessage *sub = new_message(f->descriptor);
		*(ProtobufCMessage **)out = sub;
		return fill(sub, j, where, error);
	}
	if (!parse_scalar(f, j, out))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: value of the wrong type", where);
	return TRUE;
}

/* A JSON object as the repeated Entry messages of a map field. */
static gboolean parse_map(const ProtobufCFieldDescriptor *f, json_t *j,
			  const char *where, size_t *n, void **arr,
			  GError **error)
{
	if (!json_is_object(j))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: expected an object", where);
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	ProtobufCMessage **entries =
		calloc(json_object_size(j) + 1, sizeof(void *));
	*arr = entries;
	const char *k;
	json_t *v;
	json_object_foreach(j, k, v)
	{
		ProtobufCMessage *e = new_message(ed);
		entries[(*n)++] = e;
		char **key = (char **)((char *)e + ed->fields[0].offset);
		*key = strdup(k);
		g_autofree char *w = g_strdup_printf("%s.%s", where, k);
		if (!parse_value(&ed->fields[1], v,
				 (char *)e + ed->fields[1].offset, w, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean parse_repeated(const ProtobufCFieldDescriptor *f, json_t *j,
			       ProtobufCMessage *msg, const char *where,
			       GError **error)
{
	size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
	void **arr = (void **)((char *)msg + f->offset);
	if (json_is_null(j))
		return TRUE;
	if (f->type == PROTOBUF_C_TYPE_MESSAGE && is_map_entry(f->descriptor))
		return parse_map(f, j, where, n, arr, error);
	if (!json_is_array(j))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: expected an array", where);
	gsize size = scalar_size(f->type);
	*arr = calloc(json_array_size(j) + 1, size);
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v)
	{
		g_autofree char *w = g_strdup_printf("%s[%zu]", where, i);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE && json_is_null(v))
			return berth_throw(error, INVALID_ARGUMENT,
					   "%s: null element", w);
		/* Counted first: a half-parsed element is still freed. */
		(*n)++;
		if (!parse_value(f, v, (char *)*arr + i * size, w, error))
			return FALSE;
	}
	return TRUE;
}

static const ProtobufCFieldDescriptor *
field_for_key(const ProtobufCMessageDescriptor *d, const char *key)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (ctl_pbjson_key_matches(key, d->fields[i].name))
			return &d->fields[i];
	return NULL;
}

/* Replace whatever a field holds (a template's value) before setting it. */
static void clear_field(ProtobufCMessage *msg,
			const ProtobufCFieldDescriptor *f)
{
	char *p = (char *)msg + f->offset;
	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
		void **arr = (void **)p;
		for (size_t i = 0; i < *n; i++) {
			if (f->type == PROTOBUF_C_TYPE_STRING)
				free(((char **)*arr)[i]);
			else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
				protobuf_c_message_free_unpacked(
					((ProtobufCMessage **)*arr)[i], NULL);
			else if (f->type == PROTOBUF_C_TYPE_BYTES)
				free(((ProtobufCBinaryData *)*arr)[i].data);
		}
		free(*arr);
		*arr = NULL;
		*n = 0;
		return;
	}
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		char **s = (char **)p;
		if (*s != NULL && *s != f->default_value)
			free(*s);
		*s = (char *)f->default_value;
	} else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		ProtobufCMessage **m = (ProtobufCMessage **)p;
		if (*m != NULL)
			protobuf_c_message_free_unpacked(*m, NULL);
		*m = NULL;
	} else if (f->type == PROTOBUF_C_TYPE_BYTES) {
		ProtobufCBinaryData *b = (ProtobufCBinaryData *)p;
		free(b->data);
		b->data = NULL;
		b->len = 0;
	}
}

static gboolean fill(ProtobufCMessage *msg, json_t *json, const char *where,
		     GError **error)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	if (!json_is_object(json))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: expected an object for %s",
				   where[0] ? where : "(top)", d->name);
	const char *key;
	json_t *v;
	json_object_foreach(json, key, v)
	{
		const ProtobufCFieldDescriptor *f = field_for_key(d, key);
		if (f == NULL)
			continue;
		g_autofree char *w =
			where[0] ? g_strdup_printf("%s.%s", where, key)
				 : g_strdup(key);
		clear_field(msg, f);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (!parse_repeated(f, v, msg, w, error))
				return FALSE;
			continue;
		}
		if (f->type != PROTOBUF_C_TYPE_MESSAGE && json_is_null(v))
			continue;
		if (!parse_value(f, v, (char *)msg + f->offset, w, error))
			return FALSE;
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)((char *)msg + f->quantifier_offset) =
				f->id;
		else if (f->label == PROTOBUF_C_LABEL_OPTIONAL &&
			 f->quantifier_offset != 0)
			*(protobuf_c_boolean *)((char *)msg +
						f->quantifier_offset) = TRUE;
	}
	return TRUE;
}

gboolean ctl_pbjson_fill(ProtobufCMessage *msg, json_t *json, GError **error)
{
	return fill(msg, json, "", error);
}

ProtobufCMessage *ctl_pbjson_parse(const ProtobufCMessageDescriptor *desc,
				   json_t *json, GError **error)
{
	ProtobufCMessage *m = new_message(desc);
	if (!fill(m, json, "", error)) {
		protobuf_c_message_free_unpacked(m, NULL);
		return NULL;
	}
	return m;
}

ProtobufCMessage *ctl_pbjson_parse_file(const ProtobufCMessageDescriptor *desc,
					const char *path, GError **error)
{
	json_error_t jerr;
	json_t *j = json_load_file(path, JSON_DECODE_ANY, &jerr);
	if (j == NULL) {
		if (g_file_test(path, G_FILE_TEST_EXISTS))
			return berth_throw_null(error, INVALID_ARGUMENT,
						"%s:%d:%d: %s", path, jerr.line,
						jerr.column, jerr.text);
		return berth_throw_null(error, NOT_FOUND,
					"config at %s not found", path);
	}
	ProtobufCMessage *m = ctl_pbjson_parse(desc, j, error);
	json_decref(j);
	if (m == NULL)
		g_prefix_error(error, "%s: ", path);
	return m;
}

/* --- writing ------------------------------------------------------------ */

static json_t *dump_value(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_integer(*(const int32_t *)p);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_integer(*(const uint32_t *)p);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: {
		char buf[32];
		g_snprintf(buf, sizeof buf, "%" G_GINT64_FORMAT,
			   (gint64) * (const int64_t *)p);
		return json_string(buf);
	}
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: {
		char buf[32];
		g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT,
			   (guint64) * (const uint64_t *)p);
		return json_string(buf);
	}
	case PROTOBUF_C_TYPE_FLOAT:
		return json_real(*(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_real(*(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return json_boolean(*(const protobuf_c_boolean *)p);
	case PROTOBUF_C_TYPE_ENUM: {
		int32_t v = *(const int32_t *)p;
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, v);
		return ev ? json_string(ev->name) : json_integer(v);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return json_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_BYTES: {
		/* Text when it is UTF-8 (as upstream's string fields print),
		 * else base64 (proto3 JSON for bytes). */
		const ProtobufCBinaryData *b = p;
		if (g_utf8_validate((const char *)b->data, (gssize)b->len,
				    NULL))
			return json_stringn((const char *)b->data, b->len);
		g_autofree char *s = g_base64_encode(b->data, b->len);
		return json_string(s);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m ? ctl_pbjson_dump(m) : json_null();
	}
	}
	return json_null();
}

static int entry_cmp(const void *a, const void *b, void *d)
{
	const ProtobufCMessageDescriptor *ed = d;
	const char *ka = *(char *const *)((const char *)*(void *const *)a +
					  ed->fields[0].offset);
	const char *kb = *(char *const *)((const char *)*(void *const *)b +
					  ed->fields[0].offset);
	return strcmp(ka, kb);
}

static json_t *dump_map(const ProtobufCFieldDescriptor *f, size_t n,
			ProtobufCMessage *const *entries)
{
	const ProtobufCMessageDescriptor *ed = f->descriptor;
	g_autofree ProtobufCMessage **sorted =
		g_memdup2(entries, n * sizeof(void *));
	g_qsort_with_data(sorted, (gint)n, sizeof(void *), entry_cmp,
			  (gpointer)ed);
	json_t *o = json_object();
	for (size_t i = 0; i < n; i++) {
		const char *e = (const char *)sorted[i];
		const char *k = *(char *const *)(e + ed->fields[0].offset);
		json_object_set_new(
			o, k ? k : "",
			dump_value(&ed->fields[1], e + ed->fields[1].offset));
	}
	return o;
}

json_t *ctl_pbjson_dump(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	json_t *o = json_object();
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *p = (const char *)msg + f->offset;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)msg +
					f->quantifier_offset) != f->id)
			continue;
		g_autofree char *name = ctl_pbjson_camel(f->name);
		json_t *v;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg +
						     f->quantifier_offset);
			const char *arr = *(char *const *)p;
			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    is_map_entry(f->descriptor)) {
				v = dump_map(f, n,
					     (ProtobufCMessage *const *)arr);
			} else {
				v = json_array();
				gsize size = scalar_size(f->type);
				for (size_t k = 0; k < n; k++)
					json_array_append_new(
						v,
						dump_value(f, arr + k * size));
			}
		} else {
			v = dump_value(f, p);
		}
		json_object_set_new(o, name, v);
	}
	return o;
}
