/* berth-default, the RuntimeDefault AppArmor profile, and the kernel's
 * list of loaded profiles. */
#include "sandbox/spec/apparmor.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/spawn.h"

#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROFILES_FILE "/sys/kernel/security/apparmor/profiles"
#define PARSER_TIMEOUT_MS 60000

/* What a container may do unless its pod says otherwise. Files, network
 * and the capabilities its spec leaves it are its own business (the
 * runtime already masks and read-only-mounts the host's knobs); the
 * profile adds what mounts and capabilities cannot say: no mounting, no
 * ptrace or signals across the profile's edge (but from the host, where
 * the runtime and berth run unconfined), and no reading or writing of the
 * host kernel's memory, firmware or security knobs even with a capability
 * granted. */
static const char profile_text[] =
	"# berth's RuntimeDefault AppArmor profile, written by berthd at\n"
	"# start: changes here are overwritten.\n"
	"#include <tunables/global>\n"
	"\n"
	"profile " APPARMOR_DEFAULT_PROFILE
	" flags=(attach_disconnected,mediate_deleted) {\n"
	"  #include <abstractions/base>\n"
	"\n"
	"  file,\n"
	"  network,\n"
	"  capability,\n"
	"  umount,\n"
	"\n"
	"  signal (receive) peer=unconfined,\n"
	"  signal (send, receive) peer=" APPARMOR_DEFAULT_PROFILE ",\n"
	"  ptrace (trace, read, tracedby, readby) "
	"peer=" APPARMOR_DEFAULT_PROFILE ",\n"
	"\n"
	"  deny mount,\n"
	"  deny pivot_root,\n"
	"\n"
	"  deny @{PROC}/kcore rwlkx,\n"
	"  deny @{PROC}/kmem rwlkx,\n"
	"  deny @{PROC}/mem rwlkx,\n"
	"  deny @{PROC}/sysrq-trigger rwlkx,\n"
	"  deny @{PROC}/sys/kernel/core_pattern w,\n"
	"  deny @{PROC}/sys/kernel/modprobe w,\n"
	"  deny @{PROC}/sys/vm/** w,\n"
	"  deny /sys/firmware/** rwlkx,\n"
	"  deny /sys/kernel/security/** rwlkx,\n"
	"  deny /sys/kernel/debug/** rwlkx,\n"
	"}\n";

const char *apparmor_default_profile_text(void)
{
	return profile_text;
}

gboolean apparmor_profiles_contain(const char *list, const char *name)
{
	gsize n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *nl = strchr(p, '\n');
		/* "name (enforce)": the name is all before the last " (". */
		gsize len = nl ? (gsize)(nl - p) : strlen(p);
		const char *mode = g_strrstr_len(p, (gssize)len, " (");
		gsize name_len = mode ? (gsize)(mode - p) : len;
		if (name_len == n && strncmp(p, name, n) == 0)
			return TRUE;
		p = nl ? nl + 1 : NULL;
	}
	return FALSE;
}

gboolean apparmor_profile_loaded(const char *name)
{
	g_autofree char *list = NULL;
	return berth_read_file(PROFILES_FILE, &list, NULL, NULL) &&
	       apparmor_profiles_contain(list, name);
}

const char *apparmor_localhost_name(const char *ref)
{
	return g_str_has_prefix(ref, "localhost/") ? ref + strlen("localhost/")
						   : ref;
}

static const char *parser_path(void)
{
	static const char *const paths[] = {"/usr/sbin/apparmor_parser",
					    "/sbin/apparmor_parser"};
	for (gsize i = 0; i < G_N_ELEMENTS(paths); i++)
		if (access(paths[i], X_OK) == 0)
			return paths[i];
	return NULL;
}

gboolean apparmor_load_default(const char *dir, GError **error)
{
	const char *parser = parser_path();
	if (parser == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "no apparmor_parser (install Debian's "
				   "apparmor package)");
	g_autofree char *file =
		g_build_filename(dir, APPARMOR_DEFAULT_PROFILE, NULL);
	if (!berth_mkdir_p(dir, 0700, error) ||
	    !berth_write_file_atomic(file, profile_text, strlen(profile_text),
				     0644, error))
		return FALSE;
	/* -r: load or replace; -K: no cache written next to it. */
	const char *argv[] = {parser, "-r", "-K", file, NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = PARSER_TIMEOUT_MS};
	SpawnResult r;
	if (!spawn_sync(&o, &r, error))
		return FALSE;
	gboolean ok = !r.timed_out && WIFEXITED(r.status) &&
		      WEXITSTATUS(r.status) == 0;
	if (!ok) {
		g_autofree char *why = spawn_describe_failure(&o, &r);
		berth_throw(error, INTERNAL, "load %s: %s", file, why);
	}
	spawn_result_clear(&r);
	if (ok && !apparmor_profile_loaded(APPARMOR_DEFAULT_PROFILE))
		return berth_throw(error, INTERNAL,
				   "%s loaded %s, but the kernel does not list "
				   "%s",
				   parser, file, APPARMOR_DEFAULT_PROFILE);
	return ok;
}
