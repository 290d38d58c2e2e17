/* The table of berthd's config keys, private to config/. */
#pragma once

#include "config/config.h"

typedef enum { CK_STRING, CK_STRINGS, CK_INT, CK_BOOL } ConfigKeyType;

typedef struct {
	const char *section; /* "berth", "berth.runtime", ... */
	const char *key;
	ConfigKeyType type;
	gsize offset;	  /* into BerthConfig */
	const char *flag; /* long command-line flag, NULL if none */
	const char *help;
	gint64 min, max;	    /* CK_INT range */
	const char *const *choices; /* CK_STRING allowed values, or NULL */
	gboolean absolute_path;	    /* CK_STRING/CK_STRINGS: "/..." (or "") */
	gboolean empty_auto; /* CK_STRING: "" is a choice, decided at start */
} ConfigKey;

extern const ConfigKey config_keys[];	    /* ends with key == NULL */
extern const char *const config_sections[]; /* ends with NULL */

void *config_key_slot(BerthConfig *c, const ConfigKey *k);
const void *config_key_cslot(const BerthConfig *c, const ConfigKey *k);
const ConfigKey *config_key_find(const char *section, const char *key);
gboolean config_section_known(const char *section);
/* Range, choice and path checks for one key's current value. */
gboolean config_key_check(BerthConfig *c, const ConfigKey *k, GError **error);
gboolean config_runtime_name_valid(const char *name);
gint config_runtime_cmp(gconstpointer a, gconstpointer b);
