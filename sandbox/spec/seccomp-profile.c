/* Seccomp profile plumbing: this host's architectures, syscall name
 * resolution through libseccomp, and Localhost profiles (read, checked,
 * converted to the OCI form). The RuntimeDefault lists live in
 * seccomp-default.c. */
#include "sandbox/spec/caps.h"
#include "sandbox/spec/seccomp-profile.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

typedef struct {
	const char *name;
	guint32 token;
} ArchName;

static const ArchName arch_names[] = {
	{"SCMP_ARCH_X86", SCMP_ARCH_X86},
	{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
	{"SCMP_ARCH_X32", SCMP_ARCH_X32},
	{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
	{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
	{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
	{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
	{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
	{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
	{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
	{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
	{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
	{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
	{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
	{"SCMP_ARCH_S390", SCMP_ARCH_S390},
	{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
	{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
	{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
#ifdef SCMP_ARCH_RISCV64
	{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
#endif
};

/* The native architecture first, then those it runs in compat mode; and
 * the names Docker-form profiles use for it in includes/excludes. */
#if defined(__x86_64__)
static const char *const host_archs[] = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
					 "SCMP_ARCH_X32", NULL};
static const char *const host_aliases[] = {"amd64", "x86_64", NULL};
#elif defined(__i386__)
static const char *const host_archs[] = {"SCMP_ARCH_X86", NULL};
static const char *const host_aliases[] = {"386", "x86", NULL};
#elif defined(__aarch64__)
static const char *const host_archs[] = {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
					 NULL};
static const char *const host_aliases[] = {"arm64", "aarch64", NULL};
#elif defined(__arm__)
static const char *const host_archs[] = {"SCMP_ARCH_ARM", NULL};
static const char *const host_aliases[] = {"arm", NULL};
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static const char *const host_archs[] = {"SCMP_ARCH_PPC64LE", NULL};
static const char *const host_aliases[] = {"ppc64le", NULL};
#elif defined(__s390x__)
static const char *const host_archs[] = {"SCMP_ARCH_S390X", "SCMP_ARCH_S390",
					 NULL};
static const char *const host_aliases[] = {"s390x", NULL};
#elif defined(__riscv) && __riscv_xlen == 64
static const char *const host_archs[] = {"SCMP_ARCH_RISCV64", NULL};
static const char *const host_aliases[] = {"riscv64", NULL};
#else
#error "berth: no seccomp architecture list for this CPU"
#endif

const char *const *seccomp_host_architectures(void)
{
	return host_archs;
}

static gboolean arch_token(const char *name, guint32 *token)
{
	for (gsize i = 0; i < G_N_ELEMENTS(arch_names); i++)
		if (strcmp(arch_names[i].name, name) == 0) {
			*token = arch_names[i].token;
			return TRUE;
		}
	return FALSE;
}

gboolean seccomp_syscall_known(const char *name, const char *const *archs)
{
	if (archs == NULL)
		archs = host_archs;
	for (; *archs; archs++) {
		guint32 token;
		/* Negative numbers are libseccomp's pseudo-syscalls: names
		 * it knows of that this architecture does not have. */
		if (arch_token(*archs, &token) &&
		    seccomp_syscall_resolve_name_arch(token, name) >= 0)
			return TRUE;
	}
	return FALSE;
}

/* --- Localhost profiles --------------------------------------------------- */

static const char *const actions[] = {
	"SCMP_ACT_KILL",	"SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
	"SCMP_ACT_ERRNO",	"SCMP_ACT_TRACE",
	"SCMP_ACT_ALLOW",	"SCMP_ACT_LOG",
	"SCMP_ACT_NOTIFY",	NULL};
static const char *const operators[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE",	    "SCMP_CMP_EQ",
	"SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL};

typedef struct {
	guint64 caps;
	const char *const *archs; /* the profile's, for name resolution */
	GError **error;
} Conv;

static gboolean bad(Conv *cv, const char *fmt, const char *where)
{
	return berth_throw(cv->error, INVALID_ARGUMENT, fmt, where);
}

static gboolean in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++)
		if (strcmp(s, *list) == 0)
			return TRUE;
	return FALSE;
}

static gboolean check_action(Conv *cv, json_t *v, const char *where)
{
	if (!in_list(json_string_value(v), actions))
		return bad(cv, "%s: missing or unknown seccomp action", where);
	return TRUE;
}

static gboolean check_args(Conv *cv, json_t *args, const char *where)
{
	size_t i;
	json_t *a;
	if (!json_is_array(args))
		return bad(cv, "%s: args is not an array", where);
	json_array_foreach(args, i, a)
	{
		json_t *index = json_object_get(a, "index");
		json_t *value = json_object_get(a, "value");
		json_t *value2 = json_object_get(a, "valueTwo");
		if (!json_is_object(a) || !json_is_integer(index) ||
		    json_integer_value(index) < 0 ||
		    json_integer_value(index) > 5 ||
		    (value && !json_is_integer(value)) ||
		    (value2 && !json_is_integer(value2)) ||
		    !in_list(json_string_value(json_object_get(a, "op")),
			     operators))
			return bad(cv, "%s: malformed syscall argument", where);
	}
	return TRUE;
}

/* Kernel version "a.b" <= the running kernel's. */
static gboolean kernel_at_least(const char *min)
{
	unsigned want_major = 0, want_minor = 0, major = 0, minor = 0;
	struct utsname u;
	if (sscanf(min, "%u.%u", &want_major, &want_minor) < 1 ||
	    uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) < 2)
		return TRUE;
	return major > want_major ||
	       (major == want_major && minor >= want_minor);
}

static gboolean any_arch_matches(json_t *arches)
{
	size_t i;
	json_t *a;
	json_array_foreach(arches, i, a)
	{
		const char *s = json_string_value(a);
		if (in_list(s, host_aliases) || in_list(s, host_archs))
			return TRUE;
	}
	return FALSE;
}

/* caps: every listed capability held (all_needed) or any held. */
static gboolean caps_match(json_t *caps, guint64 held, gboolean all_needed)
{
	size_t i;
	json_t *c;
	json_array_foreach(caps, i, c)
	{
		const char *name = json_string_value(c);
		int cap = name ? ctr_cap_from_name(name) : -1;
		gboolean has = cap >= 0 && ((held >> cap) & 1);
		if (all_needed && !has)
			return FALSE;
		if (!all_needed && has)
			return TRUE;
	}
	return all_needed;
}

/* Docker-form conditions on a rule: includes must all hold, excludes must
 * none. */
static gboolean rule_applies(json_t *rule, guint64 caps)
{
	json_t *inc = json_object_get(rule, "includes");
	json_t *exc = json_object_get(rule, "excludes");
	json_t *v;
	if ((v = json_object_get(inc, "caps")) && json_array_size(v) > 0 &&
	    !caps_match(v, caps, TRUE))
		return FALSE;
	if ((v = json_object_get(inc, "arches")) && json_array_size(v) > 0 &&
	    !any_arch_matches(v))
		return FALSE;
	if ((v = json_object_get(inc, "minKernel")) && json_is_string(v) &&
	    !kernel_at_least(json_string_value(v)))
		return FALSE;
	if ((v = json_object_get(exc, "caps")) && json_array_size(v) > 0 &&
	    caps_match(v, caps, FALSE))
		return FALSE;
	if ((v = json_object_get(exc, "arches")) && json_array_size(v) > 0 &&
	    any_arch_matches(v))
		return FALSE;
	if ((v = json_object_get(exc, "minKernel")) && json_is_string(v) &&
	    kernel_at_least(json_string_value(v)))
		return FALSE;
	return TRUE;
}

/* The rule's names ("names" or the Docker form's "name"), those unknown
 * here dropped. */
static json_t *rule_names(Conv *cv, json_t *rule, const char *where)
{
	json_t *names = json_object_get(rule, "names");
	json_t *one = json_object_get(rule, "name");
	json_t *list = names ? json_incref(names)
			     : (one ? json_pack("[O]", one) : NULL);
	if (!json_is_array(list) || json_array_size(list) == 0) {
		json_decref(list);
		bad(cv, "%s: no syscall names", where);
		return NULL;
	}
	json_t *out = json_array();
	size_t i;
	json_t *n;
	json_array_foreach(list, i, n)
	{
		const char *s = json_string_value(n);
		if (s == NULL) {
			json_decref(list);
			json_decref(out);
			bad(cv, "%s: a syscall name is not a string", where);
			return NULL;
		}
		if (seccomp_syscall_known(s, cv->archs))
			json_array_append(out, n);
		else
			log_debug("seccomp profile: %s: unknown syscall %s "
				  "left out",
				  where, s);
	}
	json_decref(list);
	return out;
}

/* One rule in OCI form; *out NULL when it does not apply here. */
static gboolean convert_rule(Conv *cv, json_t *rule, size_t index, json_t **out)
{
	g_autofree char *where = g_strdup_printf("syscalls[%zu]", index);
	*out = NULL;
	if (!json_is_object(rule))
		return bad(cv, "%s is not an object", where);
	json_t *action = json_object_get(rule, "action");
	json_t *errno_ret = json_object_get(rule, "errnoRet");
	json_t *args = json_object_get(rule, "args");
	if (!check_action(cv, action, where) ||
	    (args && !json_is_null(args) && !check_args(cv, args, where)))
		return FALSE;
	if (errno_ret &&
	    (!json_is_integer(errno_ret) || json_integer_value(errno_ret) < 0))
		return bad(cv, "%s: errnoRet is not a positive number", where);
	json_t *names = rule_names(cv, rule, where);
	if (names == NULL)
		return FALSE;
	if (json_array_size(names) == 0 || !rule_applies(rule, cv->caps)) {
		json_decref(names);
		return TRUE;
	}
	*out = json_pack("{s:o, s:O}", "names", names, "action", action);
	if (errno_ret)
		json_object_set(*out, "errnoRet", errno_ret);
	if (json_array_size(args) > 0)
		json_object_set(*out, "args", args);
	return TRUE;
}

/* architectures, or the Docker form's archMap entry for this host. */
static json_t *profile_archs(Conv *cv, json_t *doc)
{
	json_t *archs = json_object_get(doc, "architectures");
	json_t *map = json_object_get(doc, "archMap");
	if ((archs && !json_is_array(archs)) || (map && !json_is_array(map))) {
		bad(cv, "%s", "architectures or archMap is not an array");
		return NULL;
	}
	json_t *out = json_array();
	size_t i;
	json_t *v;
	if (archs == NULL && map != NULL) {
		json_array_foreach(map, i, v)
		{
			json_t *a = json_object_get(v, "architecture");
			if (json_string_value(a) &&
			    strcmp(json_string_value(a), host_archs[0]) == 0) {
				json_array_append(out, a);
				json_array_extend(
					out,
					json_object_get(v, "subArchitectures"));
			}
		}
		archs = out;
	}
	guint32 token;
	json_array_foreach(archs, i, v)
	{
		if (!json_is_string(v) ||
		    !arch_token(json_string_value(v), &token)) {
			json_decref(out);
			bad(cv, "%s", "unknown architecture in the profile");
			return NULL;
		}
	}
	if (archs != out) {
		json_decref(out);
		out = archs ? json_deep_copy(archs) : json_array();
	}
	return out;
}

static gboolean copy_optional(Conv *cv, json_t *doc, json_t *out,
			      const char *key, json_type type)
{
	json_t *v = json_object_get(doc, key);
	if (v == NULL || json_is_null(v))
		return TRUE;
	if (json_typeof(v) != type)
		return bad(cv, "profile field %s has the wrong type", key);
	json_object_set(out, key, v);
	return TRUE;
}

static gboolean convert_syscalls(Conv *cv, json_t *doc, json_t *out)
{
	json_t *list = json_object_get(doc, "syscalls");
	if (list == NULL || json_is_null(list))
		return TRUE;
	if (!json_is_array(list))
		return bad(cv, "%s", "profile field syscalls is not an array");
	json_t *rules = json_array();
	json_object_set_new(out, "syscalls", rules);
	size_t i;
	json_t *rule;
	json_array_foreach(list, i, rule)
	{
		json_t *converted = NULL;
		if (!convert_rule(cv, rule, i, &converted))
			return FALSE;
		if (converted)
			json_array_append_new(rules, converted);
	}
	return TRUE;
}

json_t *seccomp_profile_from_json(json_t *doc, guint64 caps, GError **error)
{
	Conv cv = {.caps = caps, .error = error};
	if (!json_is_object(doc))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"the profile is not a JSON object");
	if (!check_action(&cv, json_object_get(doc, "defaultAction"),
			  "defaultAction"))
		return NULL;
	json_t *archs = profile_archs(&cv, doc);
	if (archs == NULL)
		return NULL;
	g_autofree const char **arch_names_v =
		g_new0(const char *, json_array_size(archs) + 1);
	for (size_t i = 0; i < json_array_size(archs); i++)
		arch_names_v[i] = json_string_value(json_array_get(archs, i));
	cv.archs = json_array_size(archs) > 0 ? arch_names_v : NULL;
	json_t *out = json_pack("{s:O}", "defaultAction",
				json_object_get(doc, "defaultAction"));
	if (json_array_size(archs) > 0)
		json_object_set(out, "architectures", archs);
	gboolean ok =
		copy_optional(&cv, doc, out, "defaultErrnoRet", JSON_INTEGER) &&
		copy_optional(&cv, doc, out, "flags", JSON_ARRAY) &&
		copy_optional(&cv, doc, out, "listenerPath", JSON_STRING) &&
		copy_optional(&cv, doc, out, "listenerMetadata", JSON_STRING) &&
		convert_syscalls(&cv, doc, out);
	json_decref(archs);
	if (!ok)
		g_clear_pointer(&out, json_decref);
	return out;
}

json_t *seccomp_profile_load(const char *path, guint64 caps, GError **error)
{
	if (!g_path_is_absolute(path))
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"seccomp profile \"%s\" is not an absolute "
			"path",
			path);
	struct stat st;
	if (stat(path, &st) < 0)
		return berth_throw_errno(error, errno, "seccomp profile %s",
					 path),
		       NULL;
	if (!S_ISREG(st.st_mode) || st.st_size > SECCOMP_PROFILE_MAX)
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"seccomp profile %s is not a regular file "
			"of at most %d bytes",
			path, SECCOMP_PROFILE_MAX);
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!berth_read_file(path, &text, &len, error)) {
		g_prefix_error(error, "seccomp profile: ");
		return NULL;
	}
	json_error_t jerr;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"seccomp profile %s: invalid JSON at line "
			"%d: %s",
			path, jerr.line, jerr.text);
	json_t *out = seccomp_profile_from_json(doc, caps, error);
	json_decref(doc);
	if (out == NULL)
		g_prefix_error(error, "seccomp profile %s: ", path);
	return out;
}
