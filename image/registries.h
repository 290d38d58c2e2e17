/* Which registries an image reference is pulled from: the
 * containers-registries.conf(5) version 2 file (and its drop-ins) plus
 * berth's own insecure_registries list, turned into short-name candidates
 * and, for one fully qualified reference, the ordered endpoints to try.
 *
 * Decisions (see docs/registries.md):
 * - Short names are resolved by an [aliases] entry when one exists, else by
 *   trying every unqualified-search registry in order. short-name-mode is
 *   accepted and validated, but berth never prompts: every mode behaves
 *   like "disabled". Without unqualified-search-registries in any file the
 *   list is ["docker.io"]; an explicit empty list refuses short names.
 * - "insecure" allows plain HTTP and unverified TLS; the client tries https
 *   without verification first and falls back to http. Loopback hosts
 *   (localhost, 127.0.0.0/8, [::1]) are insecure without being listed.
 *
 * A Registries is immutable once loaded and may be shared by threads. */
#pragma once

#include <glib.h>

#include "image/ref.h"

typedef struct Registries Registries;

/* One place to try, in the order returned. */
typedef struct {
	char *host;    /* "registry.example.com:5000", "docker.io" */
	char *repo;    /* repository path on that host */
	ImageRef *ref; /* the physical reference (host, repo, tag, digest) */
	gboolean insecure; /* http and unverified https allowed */
	gboolean mirror;   /* a [[registry.mirror]], not the source */
} RegistryEndpoint;

/* Nothing configured: docker.io is the only search registry. */
Registries *registries_new_default(void);

/* Load path and then the *.conf drop-ins of "<path>.d" in lexical order;
 * a missing file or dir is fine (defaults). insecure is berth's
 * insecure_registries (host[:port][/path] or "*.domain" prefixes; may be
 * NULL). Errors are INVALID_ARGUMENT "file:line:col: what". */
Registries *registries_load(const char *path, const char *const *insecure,
			    GError **error);

/* Merge one document over r with the drop-in rules: scalars and the search
 * list replace, a [[registry]] replaces one with the same prefix, aliases
 * merge ("" removes one). filename is for error messages. */
gboolean registries_merge_toml(Registries *r, const char *text, gsize len,
			       const char *filename, GError **error);

/* Add berth's insecure_registries entries (prefixes as in [[registry]]). */
gboolean registries_add_insecure(Registries *r, const char *const *insecure,
				 GError **error);

void registries_free(Registries *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Registries, registries_free)

/* The search registries (NULL-terminated, owned by r). */
const char *const *registries_search(const Registries *r);

/* The fully qualified references to try for ref, in order (ImageRef*):
 * ref itself when it named its registry, its alias when a short name has
 * one, else ref on each search registry. NOT_FOUND when a short name has
 * nowhere to go. */
GPtrArray *registries_candidates(const Registries *r, const ImageRef *ref,
				 GError **error);

/* The endpoints for a qualified ref: mirrors in order (those allowed for a
 * tag or a digest reference), then the source with its location rewrite.
 * PERMISSION_DENIED naming the registry when the matching entry is
 * blocked. */
GPtrArray *registries_endpoints(const Registries *r, const ImageRef *ref,
				GError **error);

void registry_endpoint_free(RegistryEndpoint *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegistryEndpoint, registry_endpoint_free)

/* Loopback names and addresses: "localhost[:port]", "127.x.y.z[:port]",
 * "[::1][:port]". */
gboolean registries_host_is_loopback(const char *host);
