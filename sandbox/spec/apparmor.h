/* AppArmor for containers: the profile RuntimeDefault means
 * (berth-default, which berthd loads at start with apparmor_parser where
 * AppArmor is enabled), and whether a Localhost profile is loaded. */
#pragma once

#include <glib.h>

#define APPARMOR_DEFAULT_PROFILE "berth-default"

/* The text of berth-default, for apparmor_parser. */
const char *apparmor_default_profile_text(void);

/* Whether the kernel's profile list (the text of
 * /sys/kernel/security/apparmor/profiles: "name (mode)" lines) has name. */
gboolean apparmor_profiles_contain(const char *list, const char *name);

/* Whether the kernel has the profile loaded now (one read of its list). */
gboolean apparmor_profile_loaded(const char *name);

/* A Localhost profile reference without kubelet's "localhost/" prefix. */
const char *apparmor_localhost_name(const char *ref);

/* Load (or replace) berth-default from <dir>/berth-default with
 * apparmor_parser: TRUE when it is loaded after. FAILED_PRECONDITION when
 * there is no apparmor_parser (Debian's package apparmor), else the
 * parser's own message. */
gboolean apparmor_load_default(const char *dir, GError **error);
