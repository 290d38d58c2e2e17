/* CNI network configs: reading and validating the files of conf_dir,
 * choosing the default network, the manager's lifetime, and the inotify
 * thread that reloads the set when conf_dir or a plugin dir changes. */
#include "network/cni-private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const supported_versions[] = {"0.3.0", "0.3.1", "0.4.0",
						 "1.0.0", "1.1.0"};

static const char *const default_plugin_dirs[] = {"/usr/lib/cni",
						  "/opt/cni/bin", NULL};

/* Quiet time after the last inotify event before reloading, and the
 * longest a reload may be put off by a stream of events. */
#define WATCH_SETTLE_MS 100
#define WATCH_MAX_DELAY_MS 1000

char *cni_json_dump(json_t *j, size_t flags)
{
	char *s = json_dumps(j, flags);
	char *g = g_strdup(s);
	free(s);
	return g;
}

gboolean cni_version_supported(const char *version)
{
	for (gsize i = 0; i < G_N_ELEMENTS(supported_versions); i++) {
		if (g_strcmp0(version, supported_versions[i]) == 0)
			return TRUE;
	}
	return FALSE;
}

int cni_version_cmp(const char *a, const char *b)
{
	g_auto(GStrv) pa = g_strsplit(a ? a : "", ".", 3);
	g_auto(GStrv) pb = g_strsplit(b ? b : "", ".", 3);
	for (guint i = 0; i < 3; i++) {
		guint64 x = 0, y = 0;
		if (i < g_strv_length(pa))
			x = g_ascii_strtoull(pa[i], NULL, 10);
		if (i < g_strv_length(pb))
			y = g_ascii_strtoull(pb[i], NULL, 10);
		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

char *cni_find_plugin(const char *const *dirs, const char *type)
{
	for (; dirs && *dirs; dirs++) {
		g_autofree char *path = g_build_filename(*dirs, type, NULL);
		struct stat st;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(path, X_OK) == 0)
			return g_steal_pointer(&path);
	}
	return NULL;
}

CniNetwork *cni_network_ref(CniNetwork *net)
{
	return g_atomic_rc_box_acquire(net);
}

static void network_clear(gpointer data)
{
	CniNetwork *net = data;
	g_free(net->name);
	g_free(net->cni_version);
	g_free(net->path);
	g_free(net->conf_json);
	g_strfreev(net->plugin_types);
	g_strfreev(net->plugin_confs);
}

void cni_network_unref(CniNetwork *net)
{
	if (net)
		g_atomic_rc_box_release_full(net, network_clear);
}

static gboolean plugin_type_valid(const char *type)
{
	return type[0] != '\0' && strchr(type, '/') == NULL &&
	       strcmp(type, ".") != 0 && strcmp(type, "..") != 0;
}

/* Check one entry of "plugins"; idx counts from 0 for messages. */
static gboolean check_plugin(json_t *plugin, guint idx,
			     const char *const *plugin_dirs, GError **error)
{
	if (!json_is_object(plugin))
		return berth_throw(error, INVALID_ARGUMENT,
				   "plugin %u is not an object", idx);
	const char *type = json_string_value(json_object_get(plugin, "type"));
	if (type == NULL || type[0] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "plugin %u has no \"type\"", idx);
	if (!plugin_type_valid(type))
		return berth_throw(error, INVALID_ARGUMENT,
				   "plugin %u: type \"%s\" is not a plain name",
				   idx, type);
	if (plugin_dirs == NULL)
		return TRUE;
	g_autofree char *path = cni_find_plugin(plugin_dirs, type);
	if (path == NULL) {
		g_autofree char *dirs = g_strjoinv(":", (char **)plugin_dirs);
		return berth_throw(error, FAILED_PRECONDITION,
				   "plugin binary \"%s\" not found in %s", type,
				   dirs);
	}
	return TRUE;
}

CniNetwork *cni_network_from_json(json_t *list, const char *path,
				  const char *const *plugin_dirs,
				  GError **error)
{
	if (!json_is_object(list))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"not a JSON object");
	json_t *jver = json_object_get(list, "cniVersion");
	const char *version = json_string_value(jver);
	if (version == NULL || version[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT,
					"no \"cniVersion\"");
	if (!cni_version_supported(version))
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"cniVersion \"%s\" is not supported "
			"(0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0 are)",
			version);
	const char *name = json_string_value(json_object_get(list, "name"));
	if (name == NULL || name[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT, "no \"name\"");
	json_t *plugins = json_object_get(list, "plugins");
	if (!json_is_array(plugins) || json_array_size(plugins) == 0)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"no \"plugins\" (or an empty list)");

	guint n = json_array_size(plugins);
	for (guint i = 0; i < n; i++) {
		if (!check_plugin(json_array_get(plugins, i), i, plugin_dirs,
				  error))
			return NULL;
	}

	CniNetwork *net = g_atomic_rc_box_new0(CniNetwork);
	net->name = g_strdup(name);
	net->cni_version = g_strdup(version);
	net->path = g_strdup(path);
	net->conf_json = cni_json_dump(list, JSON_COMPACT | JSON_SORT_KEYS);
	net->disable_check =
		json_is_true(json_object_get(list, "disableCheck"));
	net->n_plugins = n;
	net->plugin_types = g_new0(char *, n + 1);
	net->plugin_confs = g_new0(char *, n + 1);
	for (guint i = 0; i < n; i++) {
		json_t *p = json_array_get(plugins, i);
		net->plugin_types[i] =
			g_strdup(json_string_value(json_object_get(p, "type")));
		net->plugin_confs[i] =
			cni_json_dump(p, JSON_COMPACT | JSON_SORT_KEYS);
	}
	return net;
}

/* A lone plugin config becomes a list of one, keeping its name and
 * version at list level. */
static json_t *wrap_single(json_t *conf)
{
	json_t *list = json_object();
	json_t *v;
	if ((v = json_object_get(conf, "cniVersion")))
		json_object_set(list, "cniVersion", v);
	if ((v = json_object_get(conf, "name")))
		json_object_set(list, "name", v);
	json_object_set_new(list, "plugins", json_pack("[O]", conf));
	return list;
}

CniNetwork *cni_network_load_file(const char *path,
				  const char *const *plugin_dirs,
				  GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!berth_read_file(path, &data, &len, error))
		return NULL;
	if (len == 0)
		return berth_throw_null(error, INVALID_ARGUMENT, "empty file");
	json_error_t jerr;
	g_autoptr(json_t) root = json_loadb(data, len, 0, &jerr);
	if (root == NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"bad JSON at line %d: %s", jerr.line,
					jerr.text);
	if (!json_is_object(root))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"not a JSON object");
	if (json_object_get(root, "plugins") == NULL) {
		if (g_str_has_suffix(path, ".conflist"))
			return berth_throw_null(error, INVALID_ARGUMENT,
						"no \"plugins\" list");
		g_autoptr(json_t) list = wrap_single(root);
		return cni_network_from_json(list, path, plugin_dirs, error);
	}
	return cni_network_from_json(root, path, plugin_dirs, error);
}

static gboolean is_config_name(const char *name)
{
	return name[0] != '.' && (g_str_has_suffix(name, ".conflist") ||
				  g_str_has_suffix(name, ".conf") ||
				  g_str_has_suffix(name, ".json"));
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *cni_networks_load_dir(const char *dir,
				 const char *const *plugin_dirs)
{
	GPtrArray *nets = g_ptr_array_new_with_free_func(
		(GDestroyNotify)cni_network_unref);
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	if (d == NULL) {
		log_warn("CNI config dir %s: %s", dir, local->message);
		return nets;
	}
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (is_config_name(name))
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, cmp_str);

	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path =
			g_build_filename(dir, names->pdata[i], NULL);
		g_autoptr(GError) err = NULL;
		CniNetwork *net =
			cni_network_load_file(path, plugin_dirs, &err);
		if (net == NULL) {
			log_warn("CNI config %s skipped: %s", path,
				 err->message);
			continue;
		}
		g_ptr_array_add(nets, net);
	}
	return nets;
}

static CniNetwork *pick_default(GPtrArray *nets, const char *wanted)
{
	for (guint i = 0; i < nets->len; i++) {
		CniNetwork *net = nets->pdata[i];
		if (wanted == NULL || strcmp(net->name, wanted) == 0)
			return net;
	}
	return NULL;
}

void cni_manager_reload(CniManager *m)
{
	g_mutex_lock(&m->reload_mutex);
	g_autoptr(GPtrArray) nets = cni_networks_load_dir(
		m->conf_dir, (const char *const *)m->plugin_dirs);
	CniNetwork *pick = pick_default(nets, m->default_network);
	char *msg = NULL;
	if (pick == NULL && m->default_network && nets->len > 0)
		msg = g_strdup_printf("CNI network \"%s\" not found in %s "
				      "(%u other valid network%s there)",
				      m->default_network, m->conf_dir,
				      nets->len, nets->len == 1 ? "" : "s");
	else if (pick == NULL && m->default_network)
		msg = g_strdup_printf("CNI network \"%s\" not found in %s",
				      m->default_network, m->conf_dir);
	else if (pick == NULL)
		msg = g_strdup_printf("no valid CNI network config in %s",
				      m->conf_dir);
	if (pick)
		cni_network_ref(pick);

	g_rw_lock_writer_lock(&m->lock);
	CniNetwork *old = m->current;
	m->current = pick;
	g_free(m->not_ready);
	m->not_ready = msg;
	g_rw_lock_writer_unlock(&m->lock);

	if (pick && (old == NULL || g_strcmp0(old->path, pick->path) != 0 ||
		     g_strcmp0(old->conf_json, pick->conf_json) != 0))
		log_info("CNI default network \"%s\" (cniVersion %s, %u "
			 "plugin%s) from %s",
			 pick->name, pick->cni_version, pick->n_plugins,
			 pick->n_plugins == 1 ? "" : "s", pick->path);
	else if (pick == NULL)
		log_warn("CNI network not ready: %s", msg);
	cni_network_unref(old);
	g_mutex_unlock(&m->reload_mutex);
}

CniNetwork *cni_manager_current(CniManager *m)
{
	g_rw_lock_reader_lock(&m->lock);
	CniNetwork *net = m->current ? cni_network_ref(m->current) : NULL;
	g_rw_lock_reader_unlock(&m->lock);
	return net;
}

gboolean cni_manager_status(CniManager *m, char **reason, char **message)
{
	g_rw_lock_reader_lock(&m->lock);
	gboolean ready = m->current != NULL;
	if (reason)
		*reason = ready ? NULL : g_strdup("NetworkPluginNotReady");
	if (message)
		*message = ready ? NULL : g_strdup(m->not_ready);
	g_rw_lock_reader_unlock(&m->lock);
	return ready;
}

char *cni_manager_default_network(CniManager *m)
{
	g_rw_lock_reader_lock(&m->lock);
	char *name = m->current ? g_strdup(m->current->name) : NULL;
	g_rw_lock_reader_unlock(&m->lock);
	return name;
}

#define CONF_EVENTS                                                            \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |            \
	 IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)
#define PLUGIN_EVENTS                                                          \
	(IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |            \
	 IN_DELETE | IN_ATTRIB)

/* (Re)create conf_dir and watch it; a missing dir cannot be watched. */
static void watch_conf_dir(CniManager *m)
{
	g_autoptr(GError) err = NULL;
	if (!berth_mkdir_p(m->conf_dir, 0755, &err))
		log_warn("CNI config dir: %s; changes will not be noticed",
			 err->message);
	m->conf_wd = inotify_add_watch(m->inotify_fd, m->conf_dir, CONF_EVENTS);
	if (m->conf_wd < 0)
		log_warn("CNI config dir %s: inotify: %s; changes will not be "
			 "noticed",
			 m->conf_dir, g_strerror(errno));
}

/* Read every queued event; TRUE when the watch on conf_dir itself ended
 * (the dir was removed, or moved away and so no longer at conf_dir). */
static gboolean drain_inotify(CniManager *m)
{
	gboolean conf_lost = FALSE;
	char buf[8192]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(m->inotify_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (ev->wd != m->conf_wd || m->conf_wd < 0)
				continue;
			if (ev->mask & IN_MOVE_SELF)
				inotify_rm_watch(m->inotify_fd, m->conf_wd);
			if (ev->mask & (IN_MOVE_SELF | IN_IGNORED)) {
				m->conf_wd = -1;
				conf_lost = TRUE;
			}
		}
	}
	return conf_lost;
}

static gpointer watch_thread(gpointer data)
{
	CniManager *m = data;
	gint64 first = 0, last = 0; /* pending events, monotonic us */
	for (;;) {
		int timeout = -1;
		if (first) {
			gint64 now = g_get_monotonic_time();
			gint64 due = MIN(last + WATCH_SETTLE_MS * 1000,
					 first + WATCH_MAX_DELAY_MS * 1000);
			timeout =
				due > now ? (int)((due - now + 999) / 1000) : 0;
		}
		struct pollfd fds[2] = {{.fd = m->inotify_fd, .events = POLLIN},
					{.fd = m->wake_fd, .events = POLLIN}};
		int r = poll(fds, 2, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_error("CNI config watch: poll: %s; stopped",
				  g_strerror(errno));
			break;
		}
		if (fds[1].revents)
			break;
		if (fds[0].revents) {
			if (drain_inotify(m)) {
				log_warn("CNI config dir %s was removed or "
					 "moved; re-creating it",
					 m->conf_dir);
				watch_conf_dir(m);
			}
			last = g_get_monotonic_time();
			if (!first)
				first = last;
			continue;
		}
		if (first) {
			first = last = 0;
			cni_manager_reload(m);
		}
	}
	return NULL;
}

static gboolean start_watch(CniManager *m, GError **error)
{
	m->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (m->inotify_fd < 0)
		return berth_throw_errno(error, errno, "inotify_init1");
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0)
		return berth_throw_errno(error, errno, "eventfd");
	watch_conf_dir(m);
	for (char **d = m->plugin_dirs; *d; d++) {
		if (inotify_add_watch(m->inotify_fd, *d, PLUGIN_EVENTS) < 0)
			log_debug("CNI plugin dir %s not watched: %s", *d,
				  g_strerror(errno));
	}
	return TRUE;
}

CniManager *cni_manager_new(const char *conf_dir,
			    const char *const *plugin_dirs,
			    const char *default_network, const char *cache_dir,
			    guint timeout_sec, GError **error)
{
	if (conf_dir == NULL || conf_dir[0] == '\0' || cache_dir == NULL ||
	    cache_dir[0] == '\0')
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"CNI: conf_dir and cache_dir are required");
	if (plugin_dirs == NULL || plugin_dirs[0] == NULL)
		plugin_dirs = default_plugin_dirs;

	g_autoptr(CniManager) m = g_new0(CniManager, 1);
	m->inotify_fd = m->wake_fd = m->conf_wd = -1;
	m->conf_dir = g_strdup(conf_dir);
	m->plugin_dirs = g_strdupv((char **)plugin_dirs);
	m->cni_path = g_strjoinv(":", m->plugin_dirs);
	if (default_network && default_network[0])
		m->default_network = g_strdup(default_network);
	m->cache_dir = g_strdup(cache_dir);
	m->timeout_sec = timeout_sec ? timeout_sec : CNI_DEFAULT_TIMEOUT_SEC;
	g_rw_lock_init(&m->lock);
	g_mutex_init(&m->reload_mutex);
	g_mutex_init(&m->pod_locks_mutex);
	m->pod_locks =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!berth_mkdir_p(cache_dir, 0700, error)) {
		g_prefix_error(error, "CNI cache dir: ");
		return NULL;
	}
	/* Watch first, then load: a change in between is not lost. */
	if (!start_watch(m, error)) {
		g_prefix_error(error, "CNI config watch: ");
		return NULL;
	}
	cni_manager_reload(m);
	m->watcher = g_thread_try_new("cni-watch", watch_thread, m, error);
	if (m->watcher == NULL)
		return NULL;
	return g_steal_pointer(&m);
}

void cni_manager_free(CniManager *m)
{
	if (m == NULL)
		return;
	if (m->watcher) {
		guint64 one = 1;
		ssize_t unused = write(m->wake_fd, &one, sizeof one);
		(void)unused;
		g_thread_join(m->watcher);
	}
	if (m->inotify_fd >= 0)
		close(m->inotify_fd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	cni_network_unref(m->current);
	g_free(m->not_ready);
	g_rw_lock_clear(&m->lock);
	g_mutex_clear(&m->reload_mutex);
	g_mutex_clear(&m->pod_locks_mutex);
	g_hash_table_destroy(m->pod_locks);
	g_free(m->conf_dir);
	g_strfreev(m->plugin_dirs);
	g_free(m->cni_path);
	g_free(m->default_network);
	g_free(m->cache_dir);
	g_free(m);
}
