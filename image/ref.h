/* Image references as users and kubelet write them ("busybox",
 * "quay.io/ns/app:1.2", "name@sha256:…"), parsed into their canonical
 * parts, and image IDs ("sha256:<hex>" or a bare 64-hex string). */
#pragma once

#include <glib.h>

#define IMAGE_REF_DEFAULT_DOMAIN "docker.io"
#define IMAGE_REF_DEFAULT_TAG "latest"
/* Longest repository name we accept: the canonical "domain/path" (as
 * Docker's reference grammar counts it), so that a short name leaves room
 * for "docker.io/library/". */
#define IMAGE_REF_NAME_MAX 255
#define IMAGE_REF_TAG_MAX 128

typedef struct {
	char *domain; /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char *path;   /* repository path without the domain */
	char *tag;    /* NULL when only a digest was given */
	char *digest; /* NULL when not pinned */
	/* The input named its registry. An unqualified name got the default
	 * domain; a registries.conf layer may instead try search registries
	 * with image_ref_with_domain. */
	gboolean qualified;
	/* "library/" was added to a single-component docker.io path. */
	gboolean implied_library;
} ImageRef;

/* Parse s into *out. INVALID_ARGUMENT naming the problem when s is not a
 * reference, including when it is an image ID (check those first with
 * image_ref_parse_id). A reference with neither tag nor digest gets
 * IMAGE_REF_DEFAULT_TAG; one with both keeps both. */
gboolean image_ref_parse(const char *s, ImageRef **out, GError **error);

/* "domain/path[:tag][@digest]", newly allocated. */
char *image_ref_string(const ImageRef *ref);
/* "domain/path", newly allocated. */
char *image_ref_repo(const ImageRef *ref);
/* "domain/path:tag" or NULL without a tag. */
char *image_ref_repo_tag(const ImageRef *ref);
/* "domain/path@digest" or NULL without a digest. */
char *image_ref_repo_digest(const ImageRef *ref);

/* The same reference on another registry. The docker.io "library/"
 * prefix that parsing added is dropped for other domains and added back
 * for docker.io. INVALID_ARGUMENT when domain is malformed or the name
 * would be longer than IMAGE_REF_NAME_MAX there. */
ImageRef *image_ref_with_domain(const ImageRef *ref, const char *domain,
				GError **error);

ImageRef *image_ref_copy(const ImageRef *ref);
void image_ref_free(ImageRef *ref);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImageRef, image_ref_free)

/* When s is an image ID ("sha256:<64 hex>" or "<64 hex>", lowercase),
 * return it as "sha256:<hex>", newly allocated; NULL otherwise. */
char *image_ref_parse_id(const char *s);

/* pinned_images matching: pattern is an exact name, or "prefix*" which
 * matches every name starting with prefix. Names are compared as the
 * store writes them ("docker.io/library/busybox:latest"). */
gboolean image_ref_pattern_match(const char *pattern, const char *name);
/* Any name of names (NULL-terminated, may be NULL) matches any pattern. */
gboolean image_ref_patterns_match_any(char *const *patterns,
				      char *const *names);

/* Check pieces on their own (for config and API input). */
gboolean image_ref_validate_domain(const char *domain, GError **error);
gboolean image_ref_validate_tag(const char *tag, GError **error);
