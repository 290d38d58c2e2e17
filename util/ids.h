/* Object ids: 32 random bytes as 64 lowercase hex digits, as pods and
 * containers use them. */
#pragma once

#include <glib.h>

char *berth_new_id(void);
/* TRUE for a string shaped like berth_new_id's output. */
gboolean berth_is_id(const char *s);
