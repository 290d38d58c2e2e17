/* The TOML scanner: whole-document checks, offsets to line:col, whitespace
 * and comments, keys, and every scalar (four string kinds, integers, floats,
 * booleans, date-times), each checked strictly against TOML 1.0.0. */
#include "config/toml-lex.h"
#include "util/error.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* U+0000..U+001F except tab, and U+007F: never allowed raw in a string or a
 * comment (newlines are handled before this is asked). */
static gboolean is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static gboolean is_dec(int c)
{
	return c >= '0' && c <= '9';
}

static gboolean is_hex(int c)
{
	return c >= 0 && c < 0x80 && g_ascii_isxdigit(c);
}

static gboolean is_oct(int c)
{
	return c >= '0' && c <= '7';
}

static gboolean is_bin(int c)
{
	return c == '0' || c == '1';
}

static gboolean is_bare_key_char(int c)
{
	return (c >= 0 && c < 0x80 && g_ascii_isalnum(c)) || c == '_' ||
	       c == '-';
}

/* Characters a number, boolean, inf or nan is made of; a value token ends
 * at the first other one. */
static gboolean is_word_char(int c)
{
	return is_bare_key_char(c) || c == '.' || c == '+';
}

gboolean toml_lex_init(TomlLexer *lx, const char *s, gsize len,
		       const char *filename, GError **error)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = s;
	lx->len = len;
	lx->filename = filename != NULL ? filename : "<input>";
	lx->line_starts = g_array_new(FALSE, FALSE, sizeof(gsize));

	gsize first = 0;
	g_array_append_val(lx->line_starts, first);
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '\n') {
			gsize next = i + 1;
			g_array_append_val(lx->line_starts, next);
		}
	}

	const char *end = NULL;
	gboolean utf8_ok = g_utf8_validate_len(s, len, &end);
	gsize bad = utf8_ok ? len : (gsize)(end - s);
	for (gsize i = 0; i < bad; i++) {
		if (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			return toml_lex_fail(lx, i, error,
					     "carriage return not followed by "
					     "a line feed");
	}
	if (!utf8_ok)
		return toml_lex_fail(lx, bad, error, "%s",
				     s[bad] == '\0' ? "NUL byte in document"
						    : "invalid UTF-8");
	/* A byte order mark may open the document; it is not content. */
	if (len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		lx->pos = lx->bom = 3;
	return TRUE;
}

void toml_lex_clear(TomlLexer *lx)
{
	g_clear_pointer(&lx->line_starts, g_array_unref);
}

void toml_lex_position(const TomlLexer *lx, gsize off, guint *line, guint *col)
{
	const gsize *starts = (const gsize *)(void *)lx->line_starts->data;
	guint lo = 0, hi = lx->line_starts->len - 1;

	while (lo < hi) {
		guint mid = lo + (hi - lo + 1) / 2;
		if (starts[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	/* Columns count characters: skip UTF-8 continuation bytes. */
	guint c = 1;
	for (gsize i = lo == 0 ? lx->bom : starts[lo]; i < off && i < lx->len;
	     i++) {
		if (((unsigned char)lx->s[i] & 0xC0) != 0x80)
			c++;
	}
	*line = lo + 1;
	*col = c;
}

gboolean toml_lex_fail(const TomlLexer *lx, gsize off, GError **error,
		       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);

	guint line, col;
	toml_lex_position(lx, off, &line, &col);
	return berth_throw(error, INVALID_ARGUMENT, "%s:%u:%u: %s",
			   lx->filename, line, col, msg);
}

char *toml_lex_describe(const TomlLexer *lx, gsize off)
{
	if (off >= lx->len)
		return g_strdup("end of input");
	unsigned char c = lx->s[off];
	if (c == '\n' || c == '\r')
		return g_strdup("end of line");
	if (c == ' ')
		return g_strdup("a space");
	if (c == '\t')
		return g_strdup("a tab");
	if (c > 0x20 && c < 0x7f)
		return g_strdup_printf("'%c'", c);
	gunichar u = g_utf8_get_char_validated(lx->s + off, lx->len - off);
	if ((gint32)u < 0)
		return g_strdup_printf("byte 0x%02X", c);
	return g_strdup_printf("U+%04X", u);
}

/* Fail at start because the word [start, end) is no value; a long word is
 * cut short in the message. */
static gboolean fail_word(const TomlLexer *lx, gsize start, gsize end,
			  GError **error)
{
	int n = (int)MIN(end - start, 32);
	return toml_lex_fail(lx, start, error, "invalid value %.*s%s", n,
			     lx->s + start, end - start > 32 ? "..." : "");
}

/* Fail at off with "<prefix>, found <what is there>". */
static gboolean fail_found(const TomlLexer *lx, gsize off, GError **error,
			   const char *expected)
{
	g_autofree char *what = toml_lex_describe(lx, off);
	return toml_lex_fail(lx, off, error, "%s, found %s", expected, what);
}

void toml_lex_skip_ws(TomlLexer *lx)
{
	while (lx->pos < lx->len &&
	       (lx->s[lx->pos] == ' ' || lx->s[lx->pos] == '\t'))
		lx->pos++;
}

gboolean toml_lex_skip_comment(TomlLexer *lx, GError **error)
{
	if (toml_lex_peek(lx, 0) != '#')
		return TRUE;
	lx->pos++;
	/* A CR here is always the start of a CRLF: init rejected bare ones. */
	while (lx->pos < lx->len && !toml_lex_at_newline(lx)) {
		int c = (unsigned char)lx->s[lx->pos];
		if (is_control(c))
			return toml_lex_fail(lx, lx->pos, error,
					     "control character U+%04X is not "
					     "allowed in a comment",
					     (guint)c);
		lx->pos++;
	}
	return TRUE;
}

gboolean toml_lex_newline(TomlLexer *lx)
{
	if (toml_lex_peek(lx, 0) == '\n') {
		lx->pos++;
		return TRUE;
	}
	if (toml_lex_peek(lx, 0) == '\r' && toml_lex_peek(lx, 1) == '\n') {
		lx->pos += 2;
		return TRUE;
	}
	return FALSE;
}

gboolean toml_lex_skip_blank(TomlLexer *lx, GError **error)
{
	do {
		toml_lex_skip_ws(lx);
		if (!toml_lex_skip_comment(lx, error))
			return FALSE;
	} while (toml_lex_newline(lx));
	return TRUE;
}

/* ---- strings ------------------------------------------------------------ */

/* At a run of quote characters q inside a multi-line string: fewer than
 * three are content; three to five close the string, the first ones (up to
 * two) being content. Returns TRUE when the string is closed. */
static gboolean ml_quotes(TomlLexer *lx, char q, GString *buf)
{
	gsize n = 0;
	while (toml_lex_peek(lx, n) == q)
		n++;
	if (n < 3) {
		g_string_append_len(buf, lx->s + lx->pos, n);
		lx->pos += n;
		return FALSE;
	}
	n = MIN(n, 5);
	g_string_append_len(buf, lx->s + lx->pos, n - 3);
	lx->pos += n;
	return TRUE;
}

/* One raw (unescaped) character of string content. Newlines (stored as LF)
 * only in multi-line strings. */
static gboolean string_char(TomlLexer *lx, gboolean multiline, GString *buf,
			    GError **error)
{
	int c = toml_lex_peek(lx, 0);

	if (toml_lex_at_newline(lx)) {
		if (!multiline)
			return toml_lex_fail(lx, lx->pos, error,
					     "unterminated string: end of line "
					     "before the closing quote");
		toml_lex_newline(lx);
		g_string_append_c(buf, '\n');
		return TRUE;
	}
	if (is_control(c))
		return toml_lex_fail(lx, lx->pos, error,
				     "control character U+%04X is not allowed "
				     "in a string",
				     (guint)c);
	g_string_append_c(buf, (char)c);
	lx->pos++;
	return TRUE;
}

/* \uXXXX or \UXXXXXXXX; esc is the offset of the backslash, pos is just
 * past the u. */
static gboolean unicode_escape(TomlLexer *lx, gsize esc, guint ndigits,
			       GString *buf, GError **error)
{
	gunichar u = 0;
	for (guint i = 0; i < ndigits; i++) {
		int c = toml_lex_peek(lx, 0);
		if (!is_hex(c)) {
			g_autofree char *what = toml_lex_describe(lx, lx->pos);
			return toml_lex_fail(lx, lx->pos, error,
					     "expected %u hex digits in "
					     "escape, found %s",
					     ndigits, what);
		}
		u = u * 16 + g_ascii_xdigit_value(c);
		lx->pos++;
	}
	int esc_len = (int)(lx->pos - esc);
	if (u == 0)
		return toml_lex_fail(lx, esc, error,
				     "escape %.*s (NUL) is not supported",
				     esc_len, lx->s + esc);
	if (u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF))
		return toml_lex_fail(lx, esc, error,
				     "escape %.*s is not a Unicode scalar "
				     "value",
				     esc_len, lx->s + esc);
	g_string_append_unichar(buf, u);
	return TRUE;
}

static gboolean escape(TomlLexer *lx, GString *buf, GError **error)
{
	gsize esc = lx->pos++;
	int c = toml_lex_peek(lx, 0);
	char out;

	switch (c) {
	case 'b':
		out = '\b';
		break;
	case 't':
		out = '\t';
		break;
	case 'n':
		out = '\n';
		break;
	case 'f':
		out = '\f';
		break;
	case 'r':
		out = '\r';
		break;
	case '"':
	case '\\':
		out = (char)c;
		break;
	case 'u':
	case 'U':
		lx->pos++;
		return unicode_escape(lx, esc, c == 'u' ? 4 : 8, buf, error);
	default: {
		g_autofree char *what = toml_lex_describe(lx, lx->pos);
		return toml_lex_fail(lx, esc, error,
				     "invalid escape: backslash followed by %s",
				     what);
	}
	}
	g_string_append_c(buf, out);
	lx->pos++;
	return TRUE;
}

/* A line-ending backslash in a multi-line basic string eats the newline and
 * all whitespace and newlines after it. FALSE (nothing consumed) if the
 * backslash at pos is not one. */
static gboolean line_continuation(TomlLexer *lx)
{
	gsize save = lx->pos++;
	toml_lex_skip_ws(lx);
	if (!toml_lex_newline(lx)) {
		lx->pos = save;
		return FALSE;
	}
	do
		toml_lex_skip_ws(lx);
	while (toml_lex_newline(lx));
	return TRUE;
}

/* Basic ("...") or literal ('...') string, single- or multi-line. */
static gboolean lex_string(TomlLexer *lx, char **out, GError **error)
{
	gsize open = lx->pos;
	char q = lx->s[open];
	gboolean basic = q == '"';
	gboolean multiline =
		toml_lex_peek(lx, 1) == q && toml_lex_peek(lx, 2) == q;
	g_autoptr(GString) buf = g_string_new(NULL);

	lx->pos += multiline ? 3 : 1;
	if (multiline)
		toml_lex_newline(lx); /* a newline right after """ is trimmed */
	for (;;) {
		int c = toml_lex_peek(lx, 0);
		if (c < 0)
			return toml_lex_fail(lx, open, error,
					     "unterminated string");
		if (c == q) {
			if (!multiline) {
				lx->pos++;
				break;
			}
			if (ml_quotes(lx, q, buf))
				break;
		} else if (c == '\\' && basic) {
			if (multiline && line_continuation(lx))
				continue;
			if (!escape(lx, buf, error))
				return FALSE;
		} else if (!string_char(lx, multiline, buf, error)) {
			return FALSE;
		}
	}
	*out = g_string_free(g_steal_pointer(&buf), FALSE);
	return TRUE;
}

/* ---- keys --------------------------------------------------------------- */

void toml_key_part_free(gpointer p)
{
	TomlKeyPart *part = p;
	g_free(part->name);
	g_free(part);
}

static gboolean simple_key(TomlLexer *lx, char **out, GError **error)
{
	int c = toml_lex_peek(lx, 0);
	gsize start = lx->pos;

	if (is_bare_key_char(c)) {
		while (is_bare_key_char(toml_lex_peek(lx, 0)))
			lx->pos++;
		*out = g_strndup(lx->s + start, lx->pos - start);
		return TRUE;
	}
	if (c == '"' || c == '\'') {
		if (toml_lex_peek(lx, 1) == c && toml_lex_peek(lx, 2) == c)
			return toml_lex_fail(lx, start, error,
					     "a key cannot be a multi-line "
					     "string");
		return lex_string(lx, out, error);
	}
	return fail_found(lx, start, error, "expected a key");
}

gboolean toml_lex_key(TomlLexer *lx, GPtrArray *parts, GError **error)
{
	for (;;) {
		toml_lex_skip_ws(lx);
		if (parts->len == TOML_MAX_KEY_PARTS)
			return toml_lex_fail(lx, lx->pos, error,
					     "key has more than %d parts",
					     TOML_MAX_KEY_PARTS);
		TomlKeyPart *part = g_new0(TomlKeyPart, 1);
		part->off = lx->pos;
		g_ptr_array_add(parts, part);
		if (!simple_key(lx, &part->name, error))
			return FALSE;
		toml_lex_skip_ws(lx);
		if (toml_lex_peek(lx, 0) != '.')
			return TRUE;
		lx->pos++;
	}
}

/* ---- numbers ------------------------------------------------------------ */

typedef gboolean (*DigitClass)(int c);

/* DIGIT *( DIGIT / "_" DIGIT ) from *i, within [.., end). On failure *i is
 * the offending offset. */
static gboolean scan_digits(const char *s, gsize end, gsize *i,
			    DigitClass is_digit)
{
	if (*i >= end || !is_digit((unsigned char)s[*i]))
		return FALSE;
	(*i)++;
	while (*i < end) {
		if (is_digit((unsigned char)s[*i])) {
			(*i)++;
		} else if (s[*i] == '_') {
			if (*i + 1 >= end ||
			    !is_digit((unsigned char)s[*i + 1]))
				return FALSE;
			*i += 2;
		} else {
			break;
		}
	}
	return TRUE;
}

static gboolean fail_digit(const TomlLexer *lx, gsize at, const char *kind,
			   GError **error)
{
	if (at < lx->len && lx->s[at] == '_')
		return toml_lex_fail(lx, at, error,
				     "'_' in a number must be between digits");
	g_autofree char *expected = g_strdup_printf("expected %s", kind);
	return fail_found(lx, at, error, expected);
}

/* Digits of [from, end) (underscores skipped) in base, with sign; fails if
 * it does not fit in a gint64. */
static gboolean convert_int(TomlLexer *lx, gsize start, gsize from, gsize end,
			    guint base, gboolean neg, TomlScalar *out,
			    GError **error)
{
	guint64 limit = neg ? (guint64)G_MAXINT64 + 1 : (guint64)G_MAXINT64;
	guint64 v = 0;

	for (gsize j = from; j < end; j++) {
		if (lx->s[j] == '_')
			continue;
		guint d = (guint)g_ascii_xdigit_value(lx->s[j]);
		if (v > (limit - d) / base)
			return toml_lex_fail(lx, start, error,
					     "integer does not fit in 64 bits");
		v = v * base + d;
	}
	out->type = TOML_INTEGER;
	if (!neg)
		out->integer = (gint64)v;
	else
		out->integer = v == limit ? G_MININT64 : -(gint64)v;
	return TRUE;
}

static gboolean convert_float(TomlLexer *lx, gsize start, gsize end,
			      TomlScalar *out, GError **error)
{
	g_autoptr(GString) buf = g_string_sized_new(end - start);
	for (gsize j = start; j < end; j++) {
		if (lx->s[j] != '_')
			g_string_append_c(buf, lx->s[j]);
	}
	errno = 0;
	double d = g_ascii_strtod(buf->str, NULL);
	if (errno == ERANGE && isinf(d))
		return toml_lex_fail(lx, start, error, "float is out of range");
	out->type = TOML_FLOAT;
	out->flt = d;
	return TRUE;
}

static const struct {
	char prefix; /* after the 0 */
	guint base;
	DigitClass is_digit;
	const char *digit_name;
} radixes[] = {
	{'x', 16, is_hex, "a hex digit"},
	{'o', 8, is_oct, "an octal digit"},
	{'b', 2, is_bin, "a binary digit"},
};

/* 0x, 0o or 0b followed by digits of that base; no sign allowed. */
static gboolean lex_radix(TomlLexer *lx, gsize start, gsize end,
			  TomlScalar *out, GError **error)
{
	guint r = 0;
	while (radixes[r].prefix != lx->s[start + 1])
		r++;
	gsize i = start + 2;

	if (!scan_digits(lx->s, end, &i, radixes[r].is_digit) || i != end)
		return fail_digit(lx, i, radixes[r].digit_name, error);
	return convert_int(lx, start, start + 2, end, radixes[r].base, FALSE,
			   out, error);
}

/* [+-] int [. digits] [e [+-] digits]; an integer without the optional
 * parts, a float with either. */
static gboolean lex_decimal(TomlLexer *lx, gsize start, gsize i, gsize end,
			    gboolean neg, TomlScalar *out, GError **error)
{
	const char *s = lx->s;
	gboolean is_float = FALSE;

	if (i + 1 < end && s[i] == '0' && (is_dec(s[i + 1]) || s[i + 1] == '_'))
		return toml_lex_fail(lx, i, error,
				     "leading zeros are not allowed");
	if (!scan_digits(s, end, &i, is_dec))
		return fail_digit(lx, i, "a digit", error);
	if (i < end && s[i] == '.') {
		i++;
		is_float = TRUE;
		if (!scan_digits(s, end, &i, is_dec))
			return fail_digit(lx, i, "a digit", error);
	}
	if (i < end && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		is_float = TRUE;
		if (i < end && (s[i] == '+' || s[i] == '-'))
			i++;
		if (!scan_digits(s, end, &i, is_dec))
			return fail_digit(lx, i, "a digit", error);
	}
	if (i != end)
		return fail_found(lx, i, error,
				  "unexpected character in number");
	if (is_float)
		return convert_float(lx, start, end, out, error);
	return convert_int(lx, start, start + (neg || s[start] == '+'), end, 10,
			   neg, out, error);
}

static gboolean lex_number(TomlLexer *lx, TomlScalar *out, GError **error)
{
	const char *s = lx->s;
	gsize start = lx->pos, end = lx->pos, i = lx->pos;

	while (end < lx->len && is_word_char((unsigned char)s[end]))
		end++;
	gboolean neg = s[i] == '-';
	if (s[i] == '+' || s[i] == '-')
		i++;

	gboolean ok;
	if (end - i == 3 &&
	    (memcmp(s + i, "inf", 3) == 0 || memcmp(s + i, "nan", 3) == 0)) {
		out->type = TOML_FLOAT;
		out->flt = s[i] == 'i' ? INFINITY : NAN;
		if (neg)
			out->flt = -out->flt;
		ok = TRUE;
	} else if (i < end && !is_dec((unsigned char)s[i])) {
		return fail_word(lx, start, end, error);
	} else if (i == start && end - i >= 2 && s[i] == '0' &&
		   (s[i + 1] == 'x' || s[i + 1] == 'o' || s[i + 1] == 'b')) {
		ok = lex_radix(lx, start, end, out, error);
	} else {
		ok = lex_decimal(lx, start, i, end, neg, out, error);
	}
	if (ok)
		lx->pos = end;
	return ok;
}

static gboolean lex_boolean(TomlLexer *lx, TomlScalar *out, GError **error)
{
	gsize start = lx->pos, end = lx->pos;

	while (end < lx->len && is_word_char((unsigned char)lx->s[end]))
		end++;
	gsize n = end - start;
	if ((n == 4 && memcmp(lx->s + start, "true", 4) == 0) ||
	    (n == 5 && memcmp(lx->s + start, "false", 5) == 0)) {
		out->type = TOML_BOOLEAN;
		out->boolean = n == 4;
		lx->pos = end;
		return TRUE;
	}
	if (n == 0)
		return fail_found(lx, start, error, "expected a value");
	return fail_word(lx, start, end, error);
}

/* ---- date-times --------------------------------------------------------- */

/* Exactly n decimal digits into *val. */
static gboolean fixed_digits(TomlLexer *lx, guint n, guint *val, GError **error)
{
	*val = 0;
	for (guint i = 0; i < n; i++) {
		int c = toml_lex_peek(lx, 0);
		if (!is_dec(c))
			return fail_found(lx, lx->pos, error,
					  "expected a digit in date-time");
		*val = *val * 10 + (guint)(c - '0');
		lx->pos++;
	}
	return TRUE;
}

/* n digits no greater than max, e.g. the hour of a time. */
static gboolean bounded_field(TomlLexer *lx, guint n, guint max,
			      const char *field, guint *val, GError **error)
{
	gsize at = lx->pos;
	if (!fixed_digits(lx, n, val, error))
		return FALSE;
	if (*val > max)
		return toml_lex_fail(lx, at, error, "%s %0*u is out of range",
				     field, (int)n, *val);
	return TRUE;
}

static gboolean expect_char(TomlLexer *lx, char want, GError **error)
{
	if (toml_lex_peek(lx, 0) != want) {
		g_autofree char *expected =
			g_strdup_printf("expected '%c' in date-time", want);
		return fail_found(lx, lx->pos, error, expected);
	}
	lx->pos++;
	return TRUE;
}

static guint days_in_month(guint year, guint month)
{
	static const guint8 days[] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	gboolean leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
	return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD, a real calendar day. */
static gboolean lex_date(TomlLexer *lx, GError **error)
{
	guint year, month, day;
	gsize month_at, day_at;

	if (!fixed_digits(lx, 4, &year, error) || !expect_char(lx, '-', error))
		return FALSE;
	month_at = lx->pos;
	if (!fixed_digits(lx, 2, &month, error))
		return FALSE;
	if (month < 1 || month > 12)
		return toml_lex_fail(lx, month_at, error,
				     "month %02u is out of range", month);
	if (!expect_char(lx, '-', error))
		return FALSE;
	day_at = lx->pos;
	if (!fixed_digits(lx, 2, &day, error))
		return FALSE;
	if (day < 1 || day > days_in_month(year, month))
		return toml_lex_fail(lx, day_at, error,
				     "day %02u is out of range for "
				     "%04u-%02u",
				     day, year, month);
	return TRUE;
}

/* HH:MM:SS[.fraction]; TOML 1.0 requires the seconds. 60 is a leap second. */
static gboolean lex_time(TomlLexer *lx, GError **error)
{
	guint v;

	if (!bounded_field(lx, 2, 23, "hour", &v, error) ||
	    !expect_char(lx, ':', error) ||
	    !bounded_field(lx, 2, 59, "minute", &v, error) ||
	    !expect_char(lx, ':', error) ||
	    !bounded_field(lx, 2, 60, "second", &v, error))
		return FALSE;
	if (toml_lex_peek(lx, 0) != '.')
		return TRUE;
	lx->pos++;
	if (!is_dec(toml_lex_peek(lx, 0)))
		return fail_found(lx, lx->pos, error,
				  "expected a digit after '.' in time");
	while (is_dec(toml_lex_peek(lx, 0)))
		lx->pos++;
	return TRUE;
}

/* Z, or +HH:MM / -HH:MM, if one is there. */
static gboolean lex_offset(TomlLexer *lx, GError **error)
{
	int c = toml_lex_peek(lx, 0);
	guint v;

	if (c == 'Z' || c == 'z') {
		lx->pos++;
		return TRUE;
	}
	if (c != '+' && c != '-')
		return TRUE;
	lx->pos++;
	return bounded_field(lx, 2, 23, "offset hour", &v, error) &&
	       expect_char(lx, ':', error) &&
	       bounded_field(lx, 2, 59, "offset minute", &v, error);
}

static gboolean looks_like_date(const TomlLexer *lx)
{
	return is_dec(toml_lex_peek(lx, 0)) && is_dec(toml_lex_peek(lx, 1)) &&
	       is_dec(toml_lex_peek(lx, 2)) && is_dec(toml_lex_peek(lx, 3)) &&
	       toml_lex_peek(lx, 4) == '-';
}

static gboolean looks_like_time(const TomlLexer *lx, gsize ahead)
{
	return is_dec(toml_lex_peek(lx, ahead)) &&
	       is_dec(toml_lex_peek(lx, ahead + 1)) &&
	       toml_lex_peek(lx, ahead + 2) == ':';
}

/* Offset date-time, local date-time, local date or local time, kept as the
 * text that was written. A space separates date and time only when a time
 * follows it. */
static gboolean lex_datetime(TomlLexer *lx, TomlScalar *out, GError **error)
{
	gsize start = lx->pos;
	gboolean has_time = TRUE;

	if (looks_like_date(lx)) {
		if (!lex_date(lx, error))
			return FALSE;
		int c = toml_lex_peek(lx, 0);
		has_time = c == 'T' || c == 't' ||
			   (c == ' ' && looks_like_time(lx, 1));
		if (has_time)
			lx->pos++;
		if (has_time &&
		    (!lex_time(lx, error) || !lex_offset(lx, error)))
			return FALSE;
	} else if (!lex_time(lx, error)) {
		return FALSE;
	}
	out->type = TOML_DATETIME;
	out->str = g_strndup(lx->s + start, lx->pos - start);
	return TRUE;
}

gboolean toml_lex_scalar(TomlLexer *lx, TomlScalar *out, GError **error)
{
	int c = toml_lex_peek(lx, 0);

	memset(out, 0, sizeof(*out));
	if (c == '"' || c == '\'') {
		out->type = TOML_STRING;
		return lex_string(lx, &out->str, error);
	}
	if (looks_like_date(lx) || looks_like_time(lx, 0))
		return lex_datetime(lx, out, error);
	if (is_dec(c) || c == '+' || c == '-' || c == 'i' || c == 'n')
		return lex_number(lx, out, error);
	return lex_boolean(lx, out, error);
}
