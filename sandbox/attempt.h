/* kubelet retries a RunPodSandbox or CreateContainer that timed out, with
 * the same config. What the retry does with the pod or container already
 * holding the name is one decision for both, kept pure here; and the
 * "its reply got through" mark both keep on their first attempt. */
#pragma once

#include <glib.h>

typedef struct {
	gboolean failed;   /* the holder's own create failed */
	gboolean live;	   /* it is not being removed */
	gboolean same;	   /* made from the same config */
	gboolean answered; /* some reply for it reached the client */
} AttemptHolder;

typedef enum {
	ATTEMPT_TRY_AGAIN,  /* the holder failed and freed the name */
	ATTEMPT_HAND_OVER,  /* the same request, never answered: return it */
	ATTEMPT_NAME_TAKEN, /* ALREADY_EXISTS */
} AttemptVerdict;

AttemptVerdict attempt_verdict(const AttemptHolder *h);

/* Set *answered under lock when answered is TRUE. Sticky: a late "not
 * answered" from a timed-out first attempt never undoes a delivered
 * reply. TRUE when the mark changed (the caller saves the record). */
gboolean attempt_mark_answered(GMutex *lock, gboolean *mark, gboolean answered);
