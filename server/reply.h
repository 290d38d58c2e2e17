/* Small helpers for building replies in a call's arena. */
#pragma once

#include "cri/core.h"
#include "util/arena.h"

/* A zeroed, initialised message of type T in the call's arena. */
#define reply_new(call, T, init_fn)                                            \
	({                                                                     \
		T *m_ = arena_new0(cri_call_arena(call), T);                   \
		init_fn(m_);                                                   \
		m_;                                                            \
	})

#define reply_str(call, s) arena_strdup(cri_call_arena(call), (s))
