/* Internal to the CDI module (cdi*.c): a parsed spec as the checked JSON
 * tree it came from, the YAML reader, and the edits a resolve collects. */
#pragma once

#include "sandbox/spec/cdi.h"

struct CdiSpec {
	char *path;
	char *kind; /* "vendor/class" */
	char *version;
	json_t *root;	     /* the whole checked document */
	json_t *edits;	     /* spec-wide containerEdits; NULL: none */
	GHashTable *devices; /* name -> its containerEdits (borrowed) */
	GPtrArray *names;    /* device names in file order, NULL-ended */
};

/* cdi-yaml.c: one YAML document as a JSON tree (mappings -> objects,
 * sequences -> arrays, plain scalars resolved to null, booleans, integers
 * and reals by the YAML 1.2 core schema plus 1.1's 0NNN octal). When raw
 * is given, it maps each number made from a plain scalar to the scalar's
 * text, so a field that wants a string ("name: 0") gets it back. */
json_t *cdi_yaml_to_json(const char *data, gsize len, const char *path,
			 GHashTable *raw, GError **error);

/* cdi-spec.c: cdi_spec_parse that also gives the document's kind when it
 * names a valid one, even if a later check failed (*kind NULL else). */
CdiSpec *cdi_spec_parse_kind(const char *data, gsize len, const char *path,
			     gboolean yaml, char **kind, GError **error);

typedef struct {
	json_t *edits; /* a containerEdits object (own copy) */
	char *origin;  /* "device v.com/c=x (file)" or "spec-wide ... " */
} CdiEditsEntry;

struct CdiEdits {
	GPtrArray *entries; /* CdiEditsEntry* */
	GPtrArray *devices; /* char*, NULL-ended */
};
