/* Container: lifetime, state and the JSON record. */
#include "sandbox/container/container.h"
#include "sandbox/container/ctrconfig-json.h"
#include "util/jsonutil.h"
#include "util/error.h"

#include <jansson.h>
#include <string.h>

Container *container_new(const char *id, const char *pod_id, CtrConfig *config)
{
	Container *c = g_new0(Container, 1);
	c->refs = 1;
	c->id = g_strdup(id);
	c->pod_id = g_strdup(pod_id);
	c->config = config;
	c->full_name = g_strdup("");
	c->config_hash = g_strdup("");
	c->image_name = g_strdup("");
	c->image_id = g_strdup("");
	c->runtime = g_strdup("");
	c->dir = g_strdup("");
	c->socket_dir = g_strdup("");
	c->log_path = g_strdup("");
	c->cgroup = g_strdup("");
	c->reason = g_strdup("");
	c->message = g_strdup("");
	c->groups = g_array_new(FALSE, FALSE, sizeof(guint32));
	g_mutex_init(&c->op_lock);
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	return c;
}

Container *container_ref(Container *c)
{
	g_atomic_int_inc(&c->refs);
	return c;
}

void container_unref(Container *c)
{
	if (c == NULL || !g_atomic_int_dec_and_test(&c->refs))
		return;
	g_free(c->id);
	g_free(c->pod_id);
	g_free(c->full_name);
	g_free(c->config_hash);
	ctr_config_free(c->config);
	g_free(c->image_name);
	g_free(c->image_id);
	g_free(c->runtime);
	g_free(c->dir);
	g_free(c->socket_dir);
	g_free(c->log_path);
	g_free(c->cgroup);
	g_free(c->reason);
	g_free(c->message);
	g_free(c->failure);
	if (c->list_entry != NULL)
		g_bytes_unref(c->list_entry);
	g_array_unref(c->groups);
	g_mutex_clear(&c->op_lock);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}

CtrState container_get_state(Container *c)
{
	g_mutex_lock(&c->lock);
	CtrState s = c->state;
	g_mutex_unlock(&c->lock);
	return s;
}

void container_set_state(Container *c, CtrState s)
{
	g_mutex_lock(&c->lock);
	c->state = s;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
}

static const char *const state_names[] = {"creating", "created", "running",
					  "exited", "removing"};

void container_read(Container *c, ContainerReadFn fn, gpointer data)
{
	g_mutex_lock(&c->lock);
	fn(c, data);
	g_mutex_unlock(&c->lock);
}

GBytes *container_list_entry(Container *c, CtrState st, ContainerEntryFn make,
			     gpointer data)
{
	GBytes *b = NULL;
	g_mutex_lock(&c->lock);
	if (c->list_entry != NULL && c->list_state == st)
		b = g_bytes_ref(c->list_entry);
	g_mutex_unlock(&c->lock);
	if (b != NULL)
		return b;
	b = make(c, st, data);
	g_mutex_lock(&c->lock);
	if (c->list_entry != NULL)
		g_bytes_unref(c->list_entry);
	c->list_entry = g_bytes_ref(b);
	c->list_state = st;
	g_mutex_unlock(&c->lock);
	return b;
}

char *container_to_json(Container *c)
{
	g_autoptr(json_t) o = json_pack(
		"{s:i, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s,"
		" s:s, s:i, s:I, s:s, s:i, s:I, s:I, s:i, s:s, s:s, s:b}",
		"version", 1, "id", c->id, "pod_id", c->pod_id, "name",
		c->full_name, "config_hash", c->config_hash, "config",
		ctr_config_to_json(c->config), "image_name", c->image_name,
		"image_id", c->image_id, "runtime", c->runtime, "dir", c->dir,
		"socket_dir", c->socket_dir, "log_path", c->log_path, "cgroup",
		c->cgroup, "stop_signal", c->stop_signal, "created_at",
		(json_int_t)c->created_at, "state", state_names[c->state],
		"pid", c->pid, "started_at", (json_int_t)c->started_at,
		"finished_at", (json_int_t)c->finished_at, "exit_code",
		c->exit_code, "reason", c->reason, "message", c->message,
		"answered", c->answered);
	if (c->has_user) {
		json_t *groups = json_array();
		for (guint i = 0; i < c->groups->len; i++)
			json_array_append_new(groups,
					      json_integer(g_array_index(
						      c->groups, guint32, i)));
		json_object_set_new(
			o, "user",
			json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)c->uid,
				  "gid", (json_int_t)c->gid, "groups", groups));
	}
	return berth_json_text(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

static void take(char **slot, json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	g_free(*slot);
	*slot = g_strdup(s ? s : "");
}

static gint64 num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

Container *container_from_json(const char *text, gsize len, GError **error)
{
	json_error_t jerr;
	g_autoptr(json_t) o = json_loadb(text, len, 0, &jerr);
	if (o == NULL) {
		return berth_throw_null(error, DATA_LOSS, "line %d: %s",
					jerr.line, jerr.text);
	}
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *pod = json_string_value(json_object_get(o, "pod_id"));
	const char *state = json_string_value(json_object_get(o, "state"));
	CtrConfig *cfg = NULL;
	if (id && pod && state)
		cfg = ctr_config_from_json(json_object_get(o, "config"), error);
	else
		berth_throw(error, DATA_LOSS,
			    "container record lacks id, pod_id or state");
	if (cfg == NULL)
		return NULL;
	Container *c = container_new(id, pod, cfg);
	take(&c->full_name, o, "name");
	take(&c->config_hash, o, "config_hash");
	take(&c->image_name, o, "image_name");
	take(&c->image_id, o, "image_id");
	take(&c->runtime, o, "runtime");
	take(&c->dir, o, "dir");
	take(&c->socket_dir, o, "socket_dir");
	take(&c->log_path, o, "log_path");
	take(&c->cgroup, o, "cgroup");
	take(&c->reason, o, "reason");
	take(&c->message, o, "message");
	c->stop_signal = num(o, "stop_signal");
	c->created_at = num(o, "created_at");
	c->pid = num(o, "pid");
	c->started_at = num(o, "started_at");
	c->finished_at = num(o, "finished_at");
	c->exit_code = num(o, "exit_code");
	c->answered = json_is_true(json_object_get(o, "answered"));
	json_t *user = json_object_get(o, "user");
	if (json_is_object(user)) {
		c->has_user = TRUE;
		c->uid = num(user, "uid");
		c->gid = num(user, "gid");
		json_t *g;
		size_t i;
		json_array_foreach(json_object_get(user, "groups"), i, g)
		{
			guint32 v = json_integer_value(g);
			g_array_append_val(c->groups, v);
		}
	}
	for (guint i = 0; i < G_N_ELEMENTS(state_names); i++) {
		if (strcmp(state, state_names[i]) == 0)
			c->state = i;
	}
	return c;
}
