/* inotify on the exits dir: IN_MOVED_TO only, since the monitor renames
 * a finished tmp file into place (a file being written is never seen). Exit
 * file names are container ids: no dots. A pipe wakes the thread to stop. */
#include "sandbox/container/exits.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

struct ExitWatch {
	char *dir;
	ExitFn fn;
	gpointer data;
	int ifd;
	int stop[2];
	GThread *thread;
};

static gboolean is_exit_name(const char *name)
{
	return name[0] != '\0' && strchr(name, '.') == NULL;
}

static void dispatch(ExitWatch *w, const char *buf, ssize_t len)
{
	for (const char *p = buf; p < buf + len;) {
		const struct inotify_event *ev = (const void *)p;
		if (ev->len > 0 && is_exit_name(ev->name))
			w->fn(ev->name, w->data);
		if (ev->mask & IN_Q_OVERFLOW) {
			/* Too many at once: report every file there now. */
			g_autoptr(GPtrArray) all = exits_list(w->dir);
			for (guint i = 0; i < all->len; i++)
				w->fn(g_ptr_array_index(all, i), w->data);
		}
		p += sizeof *ev + ev->len;
	}
}

static gpointer watch_main(gpointer data)
{
	ExitWatch *w = data;
	char buf[16384] __attribute__((aligned(8)));
	for (;;) {
		struct pollfd p[2] = {{w->ifd, POLLIN, 0},
				      {w->stop[0], POLLIN, 0}};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("exit watch on %s: poll: %s", w->dir,
				  g_strerror(errno));
			return NULL;
		}
		if (p[1].revents)
			return NULL;
		ssize_t n = read(w->ifd, buf, sizeof buf);
		if (n > 0)
			dispatch(w, buf, n);
	}
}

ExitWatch *exit_watch_new(const char *dir, ExitFn fn, gpointer data,
			  GError **error)
{
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	ExitWatch *w = g_new0(ExitWatch, 1);
	w->dir = g_strdup(dir);
	w->fn = fn;
	w->data = data;
	w->stop[0] = w->stop[1] = -1;
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (w->ifd < 0 || pipe2(w->stop, O_CLOEXEC) < 0 ||
	    inotify_add_watch(w->ifd, dir, IN_MOVED_TO) < 0) {
		berth_throw_errno(error, errno, "watch %s", dir);
		exit_watch_free(w);
		return NULL;
	}
	w->thread = g_thread_new("exit-watch", watch_main, w);
	return w;
}

void exit_watch_free(ExitWatch *w)
{
	if (w == NULL)
		return;
	if (w->thread != NULL) {
		ssize_t unused = write(w->stop[1], "x", 1);
		(void)unused;
		g_thread_join(w->thread);
	}
	if (w->ifd >= 0)
		close(w->ifd);
	for (int i = 0; i < 2; i++) {
		if (w->stop[i] >= 0)
			close(w->stop[i]);
	}
	g_free(w->dir);
	g_free(w);
}

GPtrArray *exits_list(const char *dir)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (is_exit_name(name))
			g_ptr_array_add(out, g_strdup(name));
	}
	return out;
}
