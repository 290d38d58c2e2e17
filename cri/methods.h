/* The method table: which server/ handler serves which runtime.v1 RPC, and
 * whether it runs inline or on a worker thread. */
#pragma once

#include "cri/core.h"

/* Register RuntimeService and ImageService (all 41 RPCs) on srv. */
void cri_methods_register(CriServer *srv);
