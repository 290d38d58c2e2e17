/* OOM kill detection from the container's memory cgroup (v1
 * memory.oom_control or v2 memory.events, the oom_kill counter before and
 * after, and on v2 as it changes) and the exit file. */
#include "conmon/exit.h"
#include "conmon/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

int64_t conmon_oom_parse(const char *text)
{
	const char *p = text;
	while (p != NULL && *p) {
		if (strncmp(p, "oom_kill ", 9) == 0)
			return strtoll(p + 9, NULL, 10);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static bool file_exists(const char *path)
{
	return access(path, R_OK) == 0;
}

static int first_existing(const char *dir, char *out, size_t cap)
{
	static const char *const names[] = {"memory.events",
					    "memory.oom_control"};
	for (int i = 0; i < 2; i++) {
		int n = snprintf(out, cap, "%s/%s", dir, names[i]);
		if (n > 0 && (size_t)n < cap && file_exists(out))
			return 0;
	}
	out[0] = '\0';
	return -1;
}

/* "N:controllers:/path": the path of the line whose controller list has
 * memory (v1), or of the "0::" line (v2). */
static bool cgroup_line(const char *line, size_t len, bool v2, char *path,
			size_t cap)
{
	const char *c1 = memchr(line, ':', len);
	const char *c2 = c1 ? memchr(c1 + 1, ':', len - (c1 + 1 - line)) : NULL;
	if (c2 == NULL)
		return false;
	size_t clen = c2 - (c1 + 1);
	bool match = false;
	if (v2)
		match = clen == 0 && c1 - line == 1 && line[0] == '0';
	for (const char *t = c1 + 1; !v2 && t < c2;) {
		const char *comma = memchr(t, ',', c2 - t);
		const char *tend = comma ? comma : c2;
		match = match || (tend - t == 6 && memcmp(t, "memory", 6) == 0);
		t = tend + 1;
	}
	if (!match)
		return false;
	snprintf(path, cap, "%.*s", (int)(len - (c2 + 1 - line)), c2 + 1);
	return true;
}

static bool find_cgroup(const char *text, bool v2, char *path, size_t cap)
{
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (cgroup_line(p, len, v2, path, cap))
			return true;
		p += len + (nl != NULL);
	}
	return false;
}

int conmon_oom_file(const char *cgroup_dir, const char *cgroup_text,
		    const char *sysfs, char *out, size_t cap)
{
	char rel[1024], dir[2048];
	if (cgroup_dir != NULL)
		return first_existing(cgroup_dir, out, cap);
	if (cgroup_text == NULL)
		return -1;
	if (find_cgroup(cgroup_text, false, rel, sizeof rel)) {
		snprintf(dir, sizeof dir, "%s/memory%s", sysfs, rel);
		if (first_existing(dir, out, cap) == 0)
			return 0;
	}
	if (find_cgroup(cgroup_text, true, rel, sizeof rel)) {
		snprintf(dir, sizeof dir, "%s%s", sysfs, rel);
		return first_existing(dir, out, cap);
	}
	return -1;
}

static int64_t read_oom_count(const char *file)
{
	char text[512];
	if (file[0] == '\0' ||
	    conmon_read_small_file(file, text, sizeof text) < 0)
		return -1;
	return conmon_oom_parse(text);
}

void conmon_oom_setup(Conmon *c)
{
	char path[64], text[2048];
	c->oom_before = -1;
	snprintf(path, sizeof path, "/proc/%d/cgroup", (int)c->container_pid);
	bool have = conmon_read_small_file(path, text, sizeof text) >= 0;
	if (conmon_oom_file(c->cfg->cgroup, have ? text : NULL,
			    "/sys/fs/cgroup", c->oom_file,
			    sizeof c->oom_file) < 0) {
		conmon_diag("no memory cgroup found: OOM kills go unnoticed");
		return;
	}
	/* A container that already runs (--start) may have been killed
	 * before this read; its cgroup is its own and new, so its count
	 * started at 0. */
	int64_t now = read_oom_count(c->oom_file);
	c->oom_before = now >= 0 && c->cfg->start ? 0 : now;
	c->oom_seen = now;
	/* cgroup v2 tells inotify when memory.events changes. */
	c->oom_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (c->oom_fd >= 0 &&
	    (inotify_add_watch(c->oom_fd, c->oom_file, IN_MODIFY) < 0 ||
	     conmon_watch(c, CONMON_EV_OOM, c->oom_fd, EPOLLIN) < 0)) {
		close(c->oom_fd);
		c->oom_fd = -1;
	}
}

void conmon_oom_update(Conmon *c)
{
	int64_t now = c->oom_file[0] ? read_oom_count(c->oom_file) : -1;
	if (now > c->oom_seen)
		c->oom_seen = now;
}

void conmon_oom_event(Conmon *c)
{
	char buf[4096];
	while (read(c->oom_fd, buf, sizeof buf) > 0)
		;
	conmon_oom_update(c);
}

bool conmon_oom_killed(const Conmon *c)
{
	if (c->oom_before < 0)
		return false;
	int64_t after = read_oom_count(c->oom_file);
	if (c->oom_seen > after)
		after = c->oom_seen;
	return after > c->oom_before;
}

size_t conmon_exit_format(int wait_status, bool oom_killed, int64_t finished_at,
			  char *out, size_t cap)
{
	int code = 0, sig = 0;
	if (WIFSIGNALED(wait_status)) {
		sig = WTERMSIG(wait_status);
		code = 128 + sig;
	} else {
		code = WEXITSTATUS(wait_status);
	}
	int n = snprintf(out, cap,
			 "{\"exit_code\": %d, \"signal\": %d, \"oom_killed\": "
			 "%s, \"finished_at\": %lld}\n",
			 code, sig, oom_killed ? "true" : "false",
			 (long long)finished_at);
	return n < 0 ? 0 : (size_t)n;
}

int conmon_exit_write(Conmon *c)
{
	char path[4096], text[160];
	int n = snprintf(path, sizeof path, "%s/%s", c->cfg->exit_dir,
			 c->cfg->id);
	if (n < 0 || (size_t)n >= sizeof path)
		return -ENAMETOOLONG;
	size_t len = conmon_exit_format(c->wait_status, conmon_oom_killed(c),
					c->finished_at, text, sizeof text);
	return conmon_write_file_atomic(path, text, len, 0644);
}
