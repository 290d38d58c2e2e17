/* CtrConfig to and from JSON, for the container record on disk: everything
 * the config holds survives a restart of berthd. */
#include "sandbox/container/ctrconfig-json.h"
#include "util/error.h"
#include "util/jsonutil.h"

#include <string.h>

/* --- to JSON ------------------------------------------------------------- */

static json_t *opt_strv_json(char **v)
{
	return v ? berth_json_from_strv(v) : json_null();
}

static json_t *kv_json(GPtrArray *list)
{
	json_t *a = json_array();
	for (guint i = 0; list && i < list->len; i++) {
		const KeyValue *kv = g_ptr_array_index(list, i);
		json_array_append_new(a,
				      json_pack("[s, s]", kv->key, kv->value));
	}
	return a;
}

static json_t *profile_json(const CtrProfile *p)
{
	return json_pack("{s:i, s:s}", "kind", p->kind, "ref",
			 p->localhost_ref ? p->localhost_ref : "");
}

static json_t *mounts_json(GPtrArray *mounts)
{
	json_t *a = json_array();
	for (guint i = 0; i < mounts->len; i++) {
		const CtrMount *m = g_ptr_array_index(mounts, i);
		json_t *o = json_pack(
			"{s:s, s:s, s:b, s:b, s:b, s:i}", "container_path",
			m->container_path, "host_path", m->host_path,
			"readonly", m->readonly, "selinux_relabel",
			m->selinux_relabel, "rro", m->recursive_read_only,
			"propagation", m->propagation);
		if (m->image[0] != '\0')
			json_object_update_new(
				o,
				json_pack("{s:s, s:s, s:s}", "image", m->image,
					  "image_id", m->image_id,
					  "image_sub_path", m->image_sub_path));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *devices_json(GPtrArray *devices)
{
	json_t *a = json_array();
	for (guint i = 0; i < devices->len; i++) {
		const CtrDevice *d = g_ptr_array_index(devices, i);
		json_array_append_new(
			a,
			json_pack("{s:s, s:s, s:s}", "container_path",
				  d->container_path, "host_path", d->host_path,
				  "permissions", d->permissions));
	}
	return a;
}

static json_t *resources_json(const CtrResources *r)
{
	json_t *huge = json_array();
	for (guint i = 0; r->hugepage_limits && i < r->hugepage_limits->len;
	     i++) {
		const CtrHugepageLimit *h =
			g_ptr_array_index(r->hugepage_limits, i);
		json_array_append_new(huge, json_pack("[s, I]", h->page_size,
						      (json_int_t)h->limit));
	}
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:o, s:o}",
			 "cpu_period", (json_int_t)r->cpu_period, "cpu_quota",
			 (json_int_t)r->cpu_quota, "cpu_shares",
			 (json_int_t)r->cpu_shares, "memory_limit",
			 (json_int_t)r->memory_limit, "memory_swap_limit",
			 (json_int_t)r->memory_swap_limit, "oom_score_adj",
			 (json_int_t)r->oom_score_adj, "cpuset_cpus",
			 r->cpuset_cpus ? r->cpuset_cpus : "", "cpuset_mems",
			 r->cpuset_mems ? r->cpuset_mems : "", "hugepages",
			 huge, "unified", kv_json(r->unified));
}

static json_t *opt_int_json(CtrOptInt v)
{
	return v.set ? json_integer(v.value) : json_null();
}

static json_t *security_json(const CtrSecurity *s)
{
	json_t *groups = json_array();
	for (guint i = 0;
	     s->supplemental_groups && i < s->supplemental_groups->len; i++)
		json_array_append_new(
			groups, json_integer(g_array_index(
					s->supplemental_groups, gint64, i)));
	json_t *o = json_pack(
		"{s:o, s:o, s:o, s:b, s:i, s:s, s:o, s:o, s:s, s:b, s:o, s:i,"
		" s:b, s:o, s:o, s:o, s:o}",
		"cap_add", berth_json_from_strv(s->cap_add), "cap_drop",
		berth_json_from_strv(s->cap_drop), "cap_add_ambient",
		berth_json_from_strv(s->cap_add_ambient), "privileged",
		s->privileged, "ns_pid", s->ns_pid, "ns_target_id",
		s->ns_target_id ? s->ns_target_id : "", "run_as_user",
		opt_int_json(s->run_as_user), "run_as_group",
		opt_int_json(s->run_as_group), "run_as_username",
		s->run_as_username ? s->run_as_username : "", "readonly_rootfs",
		s->readonly_rootfs, "supplemental_groups", groups,
		"supplemental_groups_policy", s->supplemental_groups_policy,
		"no_new_privs", s->no_new_privs, "masked_paths",
		opt_strv_json(s->masked_paths), "readonly_paths",
		opt_strv_json(s->readonly_paths), "seccomp",
		profile_json(&s->seccomp), "apparmor",
		profile_json(&s->apparmor));
	json_object_set_new(
		o, "selinux",
		json_pack("[s, s, s, s]",
			  s->selinux_user ? s->selinux_user : "",
			  s->selinux_role ? s->selinux_role : "",
			  s->selinux_type ? s->selinux_type : "",
			  s->selinux_level ? s->selinux_level : ""));
	return o;
}

static json_t *config_core_json(const CtrConfig *c)
{
	return json_pack(
		"{s:s, s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:s,"
		" s:b, s:b, s:b, s:i, s:o, s:o}",
		"name", c->name, "attempt", (json_int_t)c->attempt, "image",
		c->image, "command", berth_json_from_strv(c->command), "args",
		berth_json_from_strv(c->args), "working_dir", c->working_dir,
		"envs", kv_json(c->envs), "mounts", mounts_json(c->mounts),
		"devices", devices_json(c->devices), "labels",
		kv_json(c->labels), "annotations", kv_json(c->annotations),
		"log_path", c->log_path, "stdin", c->stdin_, "stdin_once",
		c->stdin_once, "tty", c->tty, "stop_signal", c->stop_signal,
		"resources", resources_json(&c->resources), "security",
		security_json(&c->security));
}

json_t *ctr_config_to_json(const CtrConfig *c)
{
	json_t *o = config_core_json(c);
	/* Added after the first records were written: only when set. */
	if (c->cdi_devices[0] != NULL)
		json_object_set_new(o, "cdi_devices",
				    berth_json_from_strv(c->cdi_devices));
	return o;
}

/* --- from JSON ----------------------------------------------------------- */

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void set_str(char **slot, const char *s)
{
	g_free(*slot);
	*slot = g_strdup(s);
}

static void json_kv(json_t *a, GPtrArray *list)
{
	size_t i;
	json_t *pair;
	json_array_foreach(a, i, pair)
	{
		const char *k = json_string_value(json_array_get(pair, 0));
		const char *v = json_string_value(json_array_get(pair, 1));
		if (k && v)
			kv_list_add(list, k, v);
	}
}

static void json_profile(json_t *o, CtrProfile *p)
{
	ctr_profile_clear(p);
	p->kind = json_integer_value(json_object_get(o, "kind"));
	p->localhost_ref = g_strdup(str(o, "ref"));
}

static CtrOptInt json_opt_int(json_t *v)
{
	CtrOptInt r = {json_is_integer(v), json_integer_value(v)};
	return r;
}

static void json_resources(json_t *o, CtrResources *r)
{
	r->cpu_period = json_integer_value(json_object_get(o, "cpu_period"));
	r->cpu_quota = json_integer_value(json_object_get(o, "cpu_quota"));
	r->cpu_shares = json_integer_value(json_object_get(o, "cpu_shares"));
	r->memory_limit =
		json_integer_value(json_object_get(o, "memory_limit"));
	r->memory_swap_limit =
		json_integer_value(json_object_get(o, "memory_swap_limit"));
	r->oom_score_adj =
		json_integer_value(json_object_get(o, "oom_score_adj"));
	set_str(&r->cpuset_cpus, str(o, "cpuset_cpus"));
	set_str(&r->cpuset_mems, str(o, "cpuset_mems"));
	size_t i;
	json_t *h;
	json_array_foreach(json_object_get(o, "hugepages"), i, h)
	{
		CtrHugepageLimit *l = g_new0(CtrHugepageLimit, 1);
		l->page_size =
			g_strdup(json_string_value(json_array_get(h, 0)));
		l->limit = json_integer_value(json_array_get(h, 1));
		g_ptr_array_add(r->hugepage_limits, l);
	}
	json_kv(json_object_get(o, "unified"), r->unified);
}

static void json_security(json_t *o, CtrSecurity *s)
{
	g_strfreev(s->cap_add);
	g_strfreev(s->cap_drop);
	g_strfreev(s->cap_add_ambient);
	s->cap_add = berth_json_to_strv(json_object_get(o, "cap_add"));
	s->cap_drop = berth_json_to_strv(json_object_get(o, "cap_drop"));
	s->cap_add_ambient =
		berth_json_to_strv(json_object_get(o, "cap_add_ambient"));
	s->privileged = json_is_true(json_object_get(o, "privileged"));
	s->ns_pid = json_integer_value(json_object_get(o, "ns_pid"));
	set_str(&s->ns_target_id, str(o, "ns_target_id"));
	s->run_as_user = json_opt_int(json_object_get(o, "run_as_user"));
	s->run_as_group = json_opt_int(json_object_get(o, "run_as_group"));
	set_str(&s->run_as_username, str(o, "run_as_username"));
	s->readonly_rootfs =
		json_is_true(json_object_get(o, "readonly_rootfs"));
	size_t i;
	json_t *g;
	json_array_foreach(json_object_get(o, "supplemental_groups"), i, g)
	{
		gint64 v = json_integer_value(g);
		g_array_append_val(s->supplemental_groups, v);
	}
	s->supplemental_groups_policy = json_integer_value(
		json_object_get(o, "supplemental_groups_policy"));
	s->no_new_privs = json_is_true(json_object_get(o, "no_new_privs"));
	json_t *mp = json_object_get(o, "masked_paths");
	json_t *rp = json_object_get(o, "readonly_paths");
	g_strfreev(s->masked_paths);
	g_strfreev(s->readonly_paths);
	s->masked_paths = json_is_array(mp) ? berth_json_to_strv(mp) : NULL;
	s->readonly_paths = json_is_array(rp) ? berth_json_to_strv(rp) : NULL;
	json_profile(json_object_get(o, "seccomp"), &s->seccomp);
	json_profile(json_object_get(o, "apparmor"), &s->apparmor);
	json_t *se = json_object_get(o, "selinux");
	set_str(&s->selinux_user, json_string_value(json_array_get(se, 0)));
	set_str(&s->selinux_role, json_string_value(json_array_get(se, 1)));
	set_str(&s->selinux_type, json_string_value(json_array_get(se, 2)));
	set_str(&s->selinux_level, json_string_value(json_array_get(se, 3)));
}

CtrConfig *ctr_config_from_json(json_t *o, GError **error)
{
	if (!json_is_object(o)) {
		return berth_throw_null(
			error, DATA_LOSS,
			"container config is not a JSON object");
	}
	CtrConfig *c = ctr_config_new();
	set_str(&c->name, str(o, "name"));
	c->attempt = json_integer_value(json_object_get(o, "attempt"));
	set_str(&c->image, str(o, "image"));
	g_strfreev(c->command);
	g_strfreev(c->args);
	c->command = berth_json_to_strv(json_object_get(o, "command"));
	c->args = berth_json_to_strv(json_object_get(o, "args"));
	set_str(&c->working_dir, str(o, "working_dir"));
	json_kv(json_object_get(o, "envs"), c->envs);
	size_t i;
	json_t *m;
	json_array_foreach(json_object_get(o, "mounts"), i, m)
	{
		ctr_config_add_mount(
			c, str(m, "container_path"), str(m, "host_path"),
			json_is_true(json_object_get(m, "readonly")),
			json_integer_value(json_object_get(m, "propagation")));
		CtrMount *last =
			g_ptr_array_index(c->mounts, c->mounts->len - 1);
		last->selinux_relabel =
			json_is_true(json_object_get(m, "selinux_relabel"));
		last->recursive_read_only =
			json_is_true(json_object_get(m, "rro"));
		set_str(&last->image, str(m, "image"));
		set_str(&last->image_id, str(m, "image_id"));
		set_str(&last->image_sub_path, str(m, "image_sub_path"));
	}
	json_t *cdi = json_object_get(o, "cdi_devices");
	if (cdi != NULL) {
		g_strfreev(c->cdi_devices);
		c->cdi_devices = berth_json_to_strv(cdi);
	}
	json_array_foreach(json_object_get(o, "devices"), i, m)
	{
		ctr_config_add_device(c, str(m, "container_path"),
				      str(m, "host_path"),
				      str(m, "permissions"));
	}
	json_kv(json_object_get(o, "labels"), c->labels);
	json_kv(json_object_get(o, "annotations"), c->annotations);
	set_str(&c->log_path, str(o, "log_path"));
	c->stdin_ = json_is_true(json_object_get(o, "stdin"));
	c->stdin_once = json_is_true(json_object_get(o, "stdin_once"));
	c->tty = json_is_true(json_object_get(o, "tty"));
	c->stop_signal = json_integer_value(json_object_get(o, "stop_signal"));
	json_resources(json_object_get(o, "resources"), &c->resources);
	json_security(json_object_get(o, "security"), &c->security);
	return c;
}

/* Pairs as an object: sorted on output, so map order does not matter. */
static void pairs_to_object(json_t *o, const char *key)
{
	json_t *obj = json_object();
	size_t i;
	json_t *pair;
	json_array_foreach(json_object_get(o, key), i, pair)
		json_object_set(obj, json_string_value(json_array_get(pair, 0)),
				json_array_get(pair, 1));
	json_object_set_new(o, key, obj);
}

char *ctr_config_hash(const CtrConfig *c, const char *image)
{
	json_t *o = ctr_config_to_json(c);
	pairs_to_object(o, "labels");
	pairs_to_object(o, "annotations");
	json_object_set_new(o, "requested_image", json_string(image));
	char *text = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	char *hash = g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
	free(text);
	return hash;
}
