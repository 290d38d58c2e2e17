/* A strict TOML 1.0.0 reader: parses a whole document into a read-only tree
 * of TomlValue, keeping document order and the line:col of every value and
 * key so that config code can point at the offending spot. */
#pragma once

#include <glib.h>

typedef enum {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOLEAN,
	TOML_DATETIME,
} TomlType;

typedef struct TomlValue TomlValue;

/* Parse a whole document of len bytes (need not be NUL-terminated; a NUL
 * byte inside is an error). filename is only used in error messages.
 * On error returns NULL with BERTH_ERROR_INVALID_ARGUMENT and the message
 * "FILE:LINE:COL: what is wrong", LINE and COL 1-based, COL counting
 * characters (not bytes) of the offending character. The result is the root
 * table. Strings may not contain U+0000 (the API hands out C strings). */
TomlValue *toml_parse(const char *text, gsize len, const char *filename,
		      GError **error);
void toml_value_free(TomlValue *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TomlValue, toml_value_free)

TomlType toml_type(const TomlValue *v);
/* "table", "array", "string", "integer", "float", "boolean", "datetime". */
const char *toml_type_name(TomlType t);
/* The same with its article, for messages: "an integer", "a string". */
const char *toml_type_article(TomlType t);
/* Where the value starts; for a table, its [header] (or [[header]]), its
 * first dotted-key mention, or its opening brace. The root table is 1:1. */
guint toml_line(const TomlValue *v);
guint toml_col(const TomlValue *v);

/* Tables keep their keys in document order. */
guint toml_table_size(const TomlValue *t);
const char *toml_table_key_at(const TomlValue *t, guint i);
const TomlValue *toml_table_value_at(const TomlValue *t, guint i);
/* NULL if the table has no such key. */
const TomlValue *toml_table_get(const TomlValue *t, const char *key);
/* Where key i was first written: for "unknown key" errors. */
guint toml_key_line(const TomlValue *t, guint i);
guint toml_key_col(const TomlValue *t, guint i);

guint toml_array_len(const TomlValue *a);
const TomlValue *toml_array_get(const TomlValue *a, guint i);

/* STRING, or DATETIME as its raw RFC 3339 text exactly as written
 * (which of the four date-time forms it is can be read off the text). */
const char *toml_string(const TomlValue *v);
gint64 toml_integer(const TomlValue *v);
double toml_float(const TomlValue *v);
gboolean toml_boolean(const TomlValue *v);

/* s as a TOML basic string, quotes included, with '"', '\\' and control
 * characters escaped; bytes that are not valid UTF-8 become U+FFFD, so the
 * result always parses back. Free with g_free. */
char *toml_quote_string(const char *s);
