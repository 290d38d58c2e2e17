/* The retry decision and the answered mark shared by pods and
 * containers. */
#include "sandbox/attempt.h"

AttemptVerdict attempt_verdict(const AttemptHolder *h)
{
	if (h->failed)
		return ATTEMPT_TRY_AGAIN;
	if (h->live && h->same && !h->answered)
		return ATTEMPT_HAND_OVER;
	return ATTEMPT_NAME_TAKEN;
}

gboolean attempt_mark_answered(GMutex *lock, gboolean *mark, gboolean answered)
{
	if (!answered)
		return FALSE;
	g_mutex_lock(lock);
	gboolean changed = !*mark;
	*mark = TRUE;
	g_mutex_unlock(lock);
	return changed;
}
