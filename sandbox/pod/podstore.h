/* Where pods live: a store (sandbox/store.h) of pods, by id, id prefix and
 * reserved name, with their records under <root>/pods/<id>/pod.json. */
#pragma once

#include "sandbox/pod/pod.h"
#include "sandbox/store.h"

Store *pod_store_new(const char *dir /* <root>/pods */, GError **error);
