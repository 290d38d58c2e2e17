/* Private to config/toml*.c: the TOML scanner. It owns the document bytes,
 * turns offsets into line:col for errors, and reads the lexical pieces
 * (whitespace, comments, keys, strings, numbers, booleans, date-times) that
 * the parser in config/toml.c assembles into tables. */
#pragma once

#include "config/toml.h"

#include <glib.h>

/* Nesting of arrays and inline tables, and parts in one dotted key, are
 * capped so that hostile input cannot exhaust the stack. */
#define TOML_MAX_NESTING 64
#define TOML_MAX_KEY_PARTS 64

typedef struct {
	const char *s; /* the document; not NUL-terminated */
	gsize len;
	gsize pos; /* next byte to read */
	gsize bom; /* 3 if the document opens with a byte order mark */
	const char *filename;
	GArray *line_starts; /* gsize: offset of each line's first byte */
} TomlLexer;

/* One component of a (dotted) key and where it was written. */
typedef struct {
	char *name;
	gsize off;
} TomlKeyPart;

/* A value that is neither an array nor a table. str is owned by the caller
 * once toml_lex_scalar succeeds (STRING and DATETIME only). */
typedef struct {
	TomlType type;
	char *str;
	gint64 integer;
	double flt;
	gboolean boolean;
} TomlScalar;

/* Checks the document as a whole (UTF-8, no NUL, no bare CR) and indexes
 * its lines. */
gboolean toml_lex_init(TomlLexer *lx, const char *s, gsize len,
		       const char *filename, GError **error);
void toml_lex_clear(TomlLexer *lx);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TomlLexer, toml_lex_clear)

void toml_lex_position(const TomlLexer *lx, gsize off, guint *line, guint *col);
/* Set "FILE:LINE:COL: message" for offset off; returns FALSE. */
gboolean toml_lex_fail(const TomlLexer *lx, gsize off, GError **error,
		       const char *fmt, ...) G_GNUC_PRINTF(4, 5);
/* The character at off, for messages: 'x', end of line, U+00E9, ... */
char *toml_lex_describe(const TomlLexer *lx, gsize off);

/* The byte ahead bytes from pos, or -1 past the end. */
static inline int toml_lex_peek(const TomlLexer *lx, gsize ahead)
{
	if (lx->pos + ahead >= lx->len)
		return -1;
	return (unsigned char)lx->s[lx->pos + ahead];
}

static inline gboolean toml_lex_at_newline(const TomlLexer *lx)
{
	int c = toml_lex_peek(lx, 0);
	return c == '\n' || c == '\r';
}

/* Spaces and tabs. */
void toml_lex_skip_ws(TomlLexer *lx);
/* A comment up to (not including) the end of line, if one starts here. */
gboolean toml_lex_skip_comment(TomlLexer *lx, GError **error);
/* Whitespace, comments and newlines, as allowed inside arrays. */
gboolean toml_lex_skip_blank(TomlLexer *lx, GError **error);
/* Consume LF or CRLF; FALSE if not at one. */
gboolean toml_lex_newline(TomlLexer *lx);

/* A simple or dotted key with the whitespace around it; appends
 * TomlKeyPart * to parts (whose free func must be toml_key_part_free). */
gboolean toml_lex_key(TomlLexer *lx, GPtrArray *parts, GError **error);
void toml_key_part_free(gpointer part);

/* A string, number, boolean or date-time starting at pos. */
gboolean toml_lex_scalar(TomlLexer *lx, TomlScalar *out, GError **error);
