/* CtrConfig: construction, destruction and the small parsers that turn
 * CRI strings (legacy profile names, signal names) into domain values. */
#include "sandbox/container/ctrconfig.h"
#include "util/error.h"
#include "util/log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void mount_free(gpointer p)
{
	CtrMount *m = p;
	g_free(m->container_path);
	g_free(m->host_path);
	g_free(m->image);
	g_free(m->image_id);
	g_free(m->image_sub_path);
	g_free(m);
}

static void device_free(gpointer p)
{
	CtrDevice *d = p;
	g_free(d->container_path);
	g_free(d->host_path);
	g_free(d->permissions);
	g_free(d);
}

static void hugepage_free(gpointer p)
{
	CtrHugepageLimit *h = p;
	g_free(h->page_size);
	g_free(h);
}

static void profile_init(CtrProfile *p, CtrProfileKind kind)
{
	p->kind = kind;
	p->localhost_ref = g_strdup("");
}

void ctr_profile_clear(CtrProfile *p)
{
	g_clear_pointer(&p->localhost_ref, g_free);
}

static void security_init(CtrSecurity *s)
{
	s->cap_add = g_new0(char *, 1);
	s->cap_drop = g_new0(char *, 1);
	s->cap_add_ambient = g_new0(char *, 1);
	s->ns_pid = POD_NS_POD;
	s->ns_target_id = g_strdup("");
	s->run_as_username = g_strdup("");
	s->supplemental_groups = g_array_new(FALSE, FALSE, sizeof(gint64));
	profile_init(&s->seccomp, CTR_PROFILE_UNCONFINED);
	profile_init(&s->apparmor, CTR_PROFILE_RUNTIME_DEFAULT);
	s->selinux_user = g_strdup("");
	s->selinux_role = g_strdup("");
	s->selinux_type = g_strdup("");
	s->selinux_level = g_strdup("");
}

static void security_clear(CtrSecurity *s)
{
	g_strfreev(s->cap_add);
	g_strfreev(s->cap_drop);
	g_strfreev(s->cap_add_ambient);
	g_free(s->ns_target_id);
	g_free(s->run_as_username);
	g_array_unref(s->supplemental_groups);
	g_strfreev(s->masked_paths);
	g_strfreev(s->readonly_paths);
	ctr_profile_clear(&s->seccomp);
	ctr_profile_clear(&s->apparmor);
	g_free(s->selinux_user);
	g_free(s->selinux_role);
	g_free(s->selinux_type);
	g_free(s->selinux_level);
}

CtrConfig *ctr_config_new(void)
{
	CtrConfig *c = g_new0(CtrConfig, 1);
	c->name = g_strdup("");
	c->image = g_strdup("");
	c->command = g_new0(char *, 1);
	c->args = g_new0(char *, 1);
	c->working_dir = g_strdup("");
	c->envs = kv_list_new();
	c->mounts = g_ptr_array_new_with_free_func(mount_free);
	c->devices = g_ptr_array_new_with_free_func(device_free);
	c->cdi_devices = g_new0(char *, 1);
	c->labels = kv_list_new();
	c->annotations = kv_list_new();
	c->log_path = g_strdup("");
	c->resources.cpuset_cpus = g_strdup("");
	c->resources.cpuset_mems = g_strdup("");
	c->resources.hugepage_limits =
		g_ptr_array_new_with_free_func(hugepage_free);
	c->resources.unified = kv_list_new();
	security_init(&c->security);
	return c;
}

void ctr_config_free(CtrConfig *c)
{
	if (c == NULL)
		return;
	g_free(c->name);
	g_free(c->image);
	g_strfreev(c->command);
	g_strfreev(c->args);
	g_free(c->working_dir);
	g_ptr_array_unref(c->envs);
	g_ptr_array_unref(c->mounts);
	g_ptr_array_unref(c->devices);
	g_strfreev(c->cdi_devices);
	g_ptr_array_unref(c->labels);
	g_ptr_array_unref(c->annotations);
	g_free(c->log_path);
	g_free(c->resources.cpuset_cpus);
	g_free(c->resources.cpuset_mems);
	g_ptr_array_unref(c->resources.hugepage_limits);
	g_ptr_array_unref(c->resources.unified);
	security_clear(&c->security);
	g_free(c);
}

void ctr_config_add_mount(CtrConfig *c, const char *container_path,
			  const char *host_path, gboolean readonly,
			  CtrPropagation propagation)
{
	CtrMount *m = g_new0(CtrMount, 1);
	m->container_path = g_strdup(container_path);
	m->host_path = g_strdup(host_path);
	m->image = g_strdup("");
	m->image_id = g_strdup("");
	m->image_sub_path = g_strdup("");
	m->readonly = readonly;
	m->propagation = propagation;
	g_ptr_array_add(c->mounts, m);
}

void ctr_config_add_image_mount(CtrConfig *c, const char *container_path,
				const char *image, const char *image_id,
				const char *sub_path, gboolean readonly)
{
	ctr_config_add_mount(c, container_path, "", readonly,
			     CTR_PROPAGATION_PRIVATE);
	CtrMount *m = g_ptr_array_index(c->mounts, c->mounts->len - 1);
	g_free(m->image);
	g_free(m->image_id);
	g_free(m->image_sub_path);
	m->image = g_strdup(image);
	m->image_id = g_strdup(image_id);
	m->image_sub_path = g_strdup(sub_path);
}

void ctr_config_add_device(CtrConfig *c, const char *container_path,
			   const char *host_path, const char *permissions)
{
	CtrDevice *d = g_new0(CtrDevice, 1);
	d->container_path = g_strdup(container_path);
	d->host_path = g_strdup(host_path);
	d->permissions = g_strdup(permissions ? permissions : "");
	g_ptr_array_add(c->devices, d);
}

void ctr_config_add_hugepage_limit(CtrConfig *c, const char *page_size,
				   guint64 limit)
{
	CtrHugepageLimit *h = g_new0(CtrHugepageLimit, 1);
	h->page_size = g_strdup(page_size);
	h->limit = limit;
	g_ptr_array_add(c->resources.hugepage_limits, h);
}

gboolean ctr_profile_parse_legacy(const char *text, CtrProfile *out,
				  GError **error)
{
	CtrProfileKind kind;
	const char *ref = "";
	if (*text == '\0' || strcmp(text, "unconfined") == 0)
		kind = CTR_PROFILE_UNCONFINED;
	else if (strcmp(text, "runtime/default") == 0 ||
		 strcmp(text, "docker/default") == 0)
		kind = CTR_PROFILE_RUNTIME_DEFAULT;
	else if (g_str_has_prefix(text, "localhost/") &&
		 text[strlen("localhost/")] != '\0') {
		kind = CTR_PROFILE_LOCALHOST;
		ref = text + strlen("localhost/");
	} else
		return berth_throw(error, INVALID_ARGUMENT,
				   "unknown security profile \"%s\"", text);
	ctr_profile_clear(out);
	out->kind = kind;
	out->localhost_ref = g_strdup(ref);
	return TRUE;
}

typedef struct {
	const char *name;
	int number;
} SignalName;

static const SignalName signal_names[] = {
	{"ABRT", SIGABRT},     {"ALRM", SIGALRM},     {"BUS", SIGBUS},
	{"CHLD", SIGCHLD},     {"CLD", SIGCHLD},      {"CONT", SIGCONT},
	{"FPE", SIGFPE},       {"HUP", SIGHUP},	      {"ILL", SIGILL},
	{"INT", SIGINT},       {"IO", SIGIO},	      {"IOT", SIGIOT},
	{"KILL", SIGKILL},     {"PIPE", SIGPIPE},     {"POLL", SIGPOLL},
	{"PROF", SIGPROF},     {"PWR", SIGPWR},	      {"QUIT", SIGQUIT},
	{"SEGV", SIGSEGV},     {"STKFLT", SIGSTKFLT}, {"STOP", SIGSTOP},
	{"SYS", SIGSYS},       {"TERM", SIGTERM},     {"TRAP", SIGTRAP},
	{"TSTP", SIGTSTP},     {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},
	{"URG", SIGURG},       {"USR1", SIGUSR1},     {"USR2", SIGUSR2},
	{"VTALRM", SIGVTALRM}, {"WINCH", SIGWINCH},   {"XCPU", SIGXCPU},
	{"XFSZ", SIGXFSZ},
};

/* A decimal number in [lo, hi], all of text; -1 otherwise. */
static int parse_small_int(const char *text, int lo, int hi)
{
	if (*text < '0' || *text > '9')
		return -1;
	char *end = NULL;
	long v = strtol(text, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return -1;
	return (int)v;
}

/* "RTMIN", "RTMIN+n", "RTMAX", "RTMAX-n" (without the SIG prefix). */
static int parse_realtime(const char *name)
{
	int base, sign;
	if (g_str_has_prefix(name, "RTMIN")) {
		base = SIGRTMIN;
		sign = 1;
	} else if (g_str_has_prefix(name, "RTMAX")) {
		base = SIGRTMAX;
		sign = -1;
	} else
		return 0;
	const char *rest = name + 5;
	if (*rest == '\0')
		return base;
	if (*rest != (sign > 0 ? '+' : '-'))
		return 0;
	int n = parse_small_int(rest + 1, 0, SIGRTMAX - SIGRTMIN);
	return n < 0 ? 0 : base + sign * n;
}

int ctr_signal_parse(const char *text)
{
	if (text == NULL || *text == '\0')
		return 0;
	int n = parse_small_int(text, 1, SIGRTMAX);
	if (n > 0)
		return n;
	g_autofree char *up = g_ascii_strup(text, -1);
	const char *name = g_str_has_prefix(up, "SIG") ? up + 3 : up;
	for (gsize i = 0; i < G_N_ELEMENTS(signal_names); i++)
		if (strcmp(signal_names[i].name, name) == 0)
			return signal_names[i].number;
	return parse_realtime(name);
}

int ctr_config_stop_signal(const CtrConfig *c, const char *image_stop_signal)
{
	if (c->stop_signal > 0)
		return c->stop_signal;
	if (image_stop_signal == NULL || *image_stop_signal == '\0')
		return SIGTERM;
	int sig = ctr_signal_parse(image_stop_signal);
	if (sig > 0)
		return sig;
	log_warn("container %s: image stop signal \"%s\" is unknown, using "
		 "SIGTERM",
		 c->name, image_stop_signal);
	return SIGTERM;
}
