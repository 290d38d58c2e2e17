/* epoll over pidfds, plus an eventfd to stop the thread. */
#include "sandbox/container/monwatch.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <unistd.h>

struct MonWatch {
	MonitorGoneFn fn;
	gpointer data;
	int ep;
	int stop;
	GMutex lock;
	GHashTable *ids; /* pidfd -> id */
	GThread *thread;
};

static void gone(MonWatch *w, int pidfd)
{
	g_mutex_lock(&w->lock);
	char *id = g_hash_table_lookup(w->ids, GINT_TO_POINTER(pidfd));
	g_hash_table_steal(w->ids, GINT_TO_POINTER(pidfd));
	g_mutex_unlock(&w->lock);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, pidfd, NULL);
	close(pidfd);
	if (id != NULL)
		w->fn(id, w->data);
	g_free(id);
}

static gpointer watch_main(gpointer data)
{
	MonWatch *w = data;
	struct epoll_event evs[16];
	for (;;) {
		int n = epoll_wait(w->ep, evs, G_N_ELEMENTS(evs), -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_error("monitor watch: %s", g_strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == w->stop)
				return NULL;
			gone(w, evs[i].data.fd);
		}
	}
}

MonWatch *monwatch_new(MonitorGoneFn fn, gpointer data, GError **error)
{
	MonWatch *w = g_new0(MonWatch, 1);
	w->fn = fn;
	w->data = data;
	g_mutex_init(&w->lock);
	w->ids = g_hash_table_new_full(NULL, NULL, NULL, g_free);
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->stop = eventfd(0, EFD_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = w->stop};
	if (w->ep < 0 || w->stop < 0 ||
	    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->stop, &ev) < 0) {
		berth_throw_errno(error, errno, "monitor watch");
		monwatch_free(w);
		return NULL;
	}
	w->thread = g_thread_new("monitor-watch", watch_main, w);
	return w;
}

void monwatch_free(MonWatch *w)
{
	if (w == NULL)
		return;
	if (w->thread != NULL) {
		guint64 one = 1;
		ssize_t unused = write(w->stop, &one, sizeof one);
		(void)unused;
		g_thread_join(w->thread);
	}
	GHashTableIter it;
	gpointer fd;
	g_hash_table_iter_init(&it, w->ids);
	while (g_hash_table_iter_next(&it, &fd, NULL))
		close(GPOINTER_TO_INT(fd));
	g_hash_table_unref(w->ids);
	if (w->ep >= 0)
		close(w->ep);
	if (w->stop >= 0)
		close(w->stop);
	g_mutex_clear(&w->lock);
	g_free(w);
}

gboolean monwatch_add(MonWatch *w, int pid, const char *id, GError **error)
{
	int fd = pidfd_open(pid, 0);
	if (fd < 0) {
		if (errno == ESRCH) {
			w->fn(id, w->data); /* already gone */
			return TRUE;
		}
		return berth_throw_errno(error, errno, "watch monitor %d", pid);
	}
	g_mutex_lock(&w->lock);
	g_hash_table_insert(w->ids, GINT_TO_POINTER(fd), g_strdup(id));
	g_mutex_unlock(&w->lock);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int errsv = errno;
		g_mutex_lock(&w->lock);
		g_hash_table_remove(w->ids, GINT_TO_POINTER(fd));
		g_mutex_unlock(&w->lock);
		close(fd);
		return berth_throw_errno(error, errsv, "watch monitor %d", pid);
	}
	return TRUE;
}
