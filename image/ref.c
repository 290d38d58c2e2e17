/* The reference grammar: name [":" tag] ["@" digest], where name is
 * [domain "/"] path-component ("/" path-component)*. Written from the
 * distribution reference grammar; docker.io names get "library/". */
#include "image/ref.h"

#include <string.h>

#include "image/digest.h"
#include "util/error.h"

static gboolean ref_is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static gboolean ref_is_word(char c)
{
	return g_ascii_isalnum(c) || c == '_';
}

/* alnum+ (sep alnum+)*, sep = "." | "_" | "__" | "-"+ */
static gboolean ref_path_component_ok(const char *c, gsize len)
{
	gsize i = 0;
	if (len == 0)
		return FALSE;
	while (i < len) {
		if (!ref_is_lower_alnum(c[i]))
			return FALSE;
		while (i < len && ref_is_lower_alnum(c[i]))
			i++;
		if (i == len)
			return TRUE;
		if (c[i] == '.') {
			i++;
		} else if (c[i] == '_') {
			i++;
			if (i < len && c[i] == '_')
				i++;
		} else if (c[i] == '-') {
			while (i < len && c[i] == '-')
				i++;
		} else {
			return FALSE;
		}
	}
	return FALSE; /* ended on a separator */
}

static gboolean ref_validate_path(const char *path, GError **error)
{
	for (const char *p = path; *p; p++)
		if (g_ascii_isupper(*p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "repository name must be lowercase");
	const char *start = path;
	for (;;) {
		const char *slash = strchr(start, '/');
		gsize len = slash ? (gsize)(slash - start) : strlen(start);
		if (len == 0)
			return berth_throw(error, INVALID_ARGUMENT,
					   "repository name has an empty "
					   "path component");
		if (!ref_path_component_ok(start, len))
			return berth_throw(error, INVALID_ARGUMENT,
					   "invalid repository path component "
					   "\"%.*s\"",
					   (int)len, start);
		if (slash == NULL)
			return TRUE;
		start = slash + 1;
	}
}

/* "[" hex-and-colons "]", returning the char after "]", or NULL. */
static const char *ref_skip_ipv6(const char *p)
{
	const char *end = strchr(p, ']');
	gboolean colon = FALSE;
	if (end == NULL || end == p + 1)
		return NULL;
	for (const char *q = p + 1; q < end; q++) {
		if (*q == ':')
			colon = TRUE;
		else if (!g_ascii_isxdigit(*q))
			return NULL;
	}
	return colon ? end + 1 : NULL;
}

/* component ("." component)*, component = alnum ([alnum-]* alnum)? */
static const char *ref_skip_hostname(const char *p)
{
	for (;;) {
		const char *start = p;
		while (g_ascii_isalnum(*p) || *p == '-')
			p++;
		if (p == start || *start == '-' || p[-1] == '-')
			return NULL;
		if (*p != '.')
			return p;
		p++;
	}
}

gboolean image_ref_validate_domain(const char *domain, GError **error)
{
	const char *p = domain;
	if (p == NULL || *p == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "empty domain");
	p = *p == '[' ? ref_skip_ipv6(p) : ref_skip_hostname(p);
	if (p != NULL && *p == ':') {
		p++;
		if (!g_ascii_isdigit(*p))
			p = NULL;
		while (p != NULL && g_ascii_isdigit(*p))
			p++;
	}
	if (p == NULL || *p != '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid domain \"%s\"", domain);
	return TRUE;
}

gboolean image_ref_validate_tag(const char *tag, GError **error)
{
	gsize len = tag ? strlen(tag) : 0;
	gboolean ok = len > 0 && len <= IMAGE_REF_TAG_MAX && ref_is_word(*tag);
	for (gsize i = 1; ok && i < len; i++)
		ok = ref_is_word(tag[i]) || tag[i] == '.' || tag[i] == '-';
	if (!ok)
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid tag \"%s\": want a letter, digit "
				   "or '_' then up to 127 of those or '.', '-'",
				   tag ? tag : "");
	return TRUE;
}

char *image_ref_parse_id(const char *s)
{
	const char *hex = s;
	if (s == NULL)
		return NULL;
	if (g_str_has_prefix(s, "sha256:"))
		hex = s + strlen("sha256:");
	if (strlen(hex) != 64)
		return NULL;
	for (const char *p = hex; *p; p++)
		if (!g_ascii_isdigit(*p) && !(*p >= 'a' && *p <= 'f'))
			return NULL;
	return g_strconcat("sha256:", hex, NULL);
}

/* The first component names a registry when it looks like a host. */
static gboolean ref_is_domain(const char *first, gsize len)
{
	if (len == strlen("localhost") && strncmp(first, "localhost", len) == 0)
		return TRUE;
	return memchr(first, '.', len) != NULL ||
	       memchr(first, ':', len) != NULL;
}

static gboolean ref_is_docker_hub(const char *domain)
{
	return strcmp(domain, "docker.io") == 0 ||
	       strcmp(domain, "index.docker.io") == 0;
}

/* The canonical name, not the one written, must fit: image_ref_string's
 * output has to parse again. */
static gboolean ref_check_length(const ImageRef *ref, GError **error)
{
	if (strlen(ref->domain) + 1 + strlen(ref->path) > IMAGE_REF_NAME_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "repository name on %s longer than %d "
				   "characters",
				   ref->domain, IMAGE_REF_NAME_MAX);
	return TRUE;
}

/* Fill domain, path, qualified and implied_library from a name. */
static gboolean ref_split_name(const char *name, ImageRef *ref, GError **error)
{
	const char *slash = strchr(name, '/');
	const char *path = name;
	if (strlen(name) > IMAGE_REF_NAME_MAX)
		return berth_throw(error, INVALID_ARGUMENT,
				   "repository name longer than %d characters",
				   IMAGE_REF_NAME_MAX);
	if (slash != NULL && ref_is_domain(name, slash - name)) {
		ref->domain = g_strndup(name, slash - name);
		if (!image_ref_validate_domain(ref->domain, error))
			return FALSE;
		ref->qualified = TRUE;
		path = slash + 1;
	} else {
		ref->domain = g_strdup(IMAGE_REF_DEFAULT_DOMAIN);
	}
	if (!ref_validate_path(path, error))
		return FALSE;
	if (ref_is_docker_hub(ref->domain)) {
		g_free(ref->domain);
		ref->domain = g_strdup(IMAGE_REF_DEFAULT_DOMAIN);
		ref->implied_library = strchr(path, '/') == NULL;
	}
	ref->path = ref->implied_library ? g_strconcat("library/", path, NULL)
					 : g_strdup(path);
	return ref_check_length(ref, error);
}

static gboolean ref_check_chars(const char *s, GError **error)
{
	for (const char *p = s; *p; p++)
		if (!g_ascii_isgraph(*p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "contains whitespace, control or "
					   "non-ASCII characters");
	return TRUE;
}

static gboolean ref_parse_parts(const char *s, ImageRef *ref, GError **error)
{
	if (!ref_check_chars(s, error))
		return FALSE;
	const char *at = strchr(s, '@');
	g_autofree char *name = at ? g_strndup(s, at - s) : g_strdup(s);
	if (at != NULL) {
		if (!digest_validate(at + 1, error))
			return FALSE;
		ref->digest = g_strdup(at + 1);
	}
	char *last_slash = strrchr(name, '/');
	char *colon = strchr(last_slash ? last_slash : name, ':');
	if (colon != NULL) {
		*colon = '\0';
		if (!image_ref_validate_tag(colon + 1, error))
			return FALSE;
		ref->tag = g_strdup(colon + 1);
	}
	if (*name == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "missing repository name");
	if (!ref_split_name(name, ref, error))
		return FALSE;
	if (ref->tag == NULL && ref->digest == NULL)
		ref->tag = g_strdup(IMAGE_REF_DEFAULT_TAG);
	return TRUE;
}

gboolean image_ref_parse(const char *s, ImageRef **out, GError **error)
{
	if (s == NULL || *s == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid reference: empty string");
	g_autofree char *id = image_ref_parse_id(s);
	if (id != NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid reference \"%s\": an image ID, "
				   "not a name",
				   s);
	g_autoptr(ImageRef) ref = g_new0(ImageRef, 1);
	if (!ref_parse_parts(s, ref, error)) {
		g_prefix_error(error, "invalid reference \"%s\": ", s);
		return FALSE;
	}
	*out = g_steal_pointer(&ref);
	return TRUE;
}

char *image_ref_string(const ImageRef *ref)
{
	return g_strconcat(ref->domain, "/", ref->path, ref->tag ? ":" : "",
			   ref->tag ? ref->tag : "", ref->digest ? "@" : "",
			   ref->digest ? ref->digest : "", NULL);
}

char *image_ref_repo(const ImageRef *ref)
{
	return g_strconcat(ref->domain, "/", ref->path, NULL);
}

char *image_ref_repo_tag(const ImageRef *ref)
{
	if (ref->tag == NULL)
		return NULL;
	return g_strconcat(ref->domain, "/", ref->path, ":", ref->tag, NULL);
}

char *image_ref_repo_digest(const ImageRef *ref)
{
	if (ref->digest == NULL)
		return NULL;
	return g_strconcat(ref->domain, "/", ref->path, "@", ref->digest, NULL);
}

ImageRef *image_ref_with_domain(const ImageRef *ref, const char *domain,
				GError **error)
{
	if (!image_ref_validate_domain(domain, error))
		return NULL;
	const char *path = ref->path;
	if (ref->implied_library)
		path += strlen("library/");
	ImageRef *copy = g_new0(ImageRef, 1);
	copy->qualified = TRUE;
	copy->tag = g_strdup(ref->tag);
	copy->digest = g_strdup(ref->digest);
	if (ref_is_docker_hub(domain)) {
		copy->domain = g_strdup(IMAGE_REF_DEFAULT_DOMAIN);
		copy->implied_library = strchr(path, '/') == NULL;
	} else {
		copy->domain = g_strdup(domain);
	}
	copy->path = copy->implied_library ? g_strconcat("library/", path, NULL)
					   : g_strdup(path);
	if (!ref_check_length(copy, error)) {
		image_ref_free(copy);
		return NULL;
	}
	return copy;
}

ImageRef *image_ref_copy(const ImageRef *ref)
{
	ImageRef *copy = g_new0(ImageRef, 1);
	copy->domain = g_strdup(ref->domain);
	copy->path = g_strdup(ref->path);
	copy->tag = g_strdup(ref->tag);
	copy->digest = g_strdup(ref->digest);
	copy->qualified = ref->qualified;
	copy->implied_library = ref->implied_library;
	return copy;
}

void image_ref_free(ImageRef *ref)
{
	if (ref == NULL)
		return;
	g_free(ref->domain);
	g_free(ref->path);
	g_free(ref->tag);
	g_free(ref->digest);
	g_free(ref);
}

gboolean image_ref_pattern_match(const char *pattern, const char *name)
{
	gsize n = strlen(pattern);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

gboolean image_ref_patterns_match_any(char *const *patterns, char *const *names)
{
	for (char *const *p = patterns; p && *p; p++)
		for (char *const *n = names; n && *n; n++)
			if (image_ref_pattern_match(*p, *n))
				return TRUE;
	return FALSE;
}
