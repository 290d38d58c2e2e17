/* Where containers live: a store (sandbox/store.h) of containers, by id,
 * id prefix and reserved name, with their records under
 * <root>/containers/<id>/container.json beside the bundle. */
#pragma once

#include "sandbox/container/container.h"
#include "sandbox/store.h"

Store *ctr_store_new(const char *dir /* <root>/containers */, GError **error);
