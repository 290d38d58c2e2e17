/* The container config as JSON, for the record on disk. */
#pragma once

#include <jansson.h>

#include "sandbox/container/ctrconfig.h"

/* A new reference. */
json_t *ctr_config_to_json(const CtrConfig *c);
/* DATA_LOSS when o is not a config object. Unknown keys are ignored. */
CtrConfig *ctr_config_from_json(json_t *o, GError **error);

/* A digest of the config and the image it was asked for that does not
 * depend on the order of labels or annotations (for kubelet's retries). */
char *ctr_config_hash(const CtrConfig *c, const char *image);
