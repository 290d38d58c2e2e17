/* berth-pause: holds a pod's shared PID namespace as its init. It waits
 * for SIGTERM/SIGINT, reaps every orphan re-parented to it, and exits 0.
 * `berth-pause --probe` exits 0 at once: berthd runs it to test a runtime.
 * Built static, so it needs nothing but itself in a rootfs. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return 0;
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("berth-pause %s\n", BERTH_VERSION);
		return 0;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGCHLD)
			return 0;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
}
