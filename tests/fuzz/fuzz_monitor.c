/* Fuzz target: the monitor's protocol (conmon/protocol.h) on both ends:
 * berth-conmon's control-socket command parser and attach RESIZE frames
 * (conmon/ctl.c, conmon/attach.c, plain libc), and berthd's reading of an
 * exec session's EXIT frame (conmon/client-exec.c). */
#include "conmon/attach.h"
#include "conmon/client.h"
#include "conmon/ctl.h"
#include "conmon/protocol.h"
#include "tests/fuzz/fuzz.h"

#include <signal.h>
#include <string.h>

static void check_ctl(const uint8_t *data, size_t size)
{
	ConmonCtlCommand cmd;
	memset(&cmd, 0, sizeof cmd);
	char why[128] = "";
	if (conmon_ctl_parse((const char *)data, size, &cmd, why, sizeof why) <
	    0) {
		fuzz_check(why[0] != '\0');
		return;
	}
	while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
		size--;
	fuzz_check(size < CONMON_CTL_MAX_MESSAGE);
	if (cmd.kind == CONMON_CTL_KILL)
		fuzz_check(cmd.signo >= 1 && cmd.signo <= SIGRTMAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_ctl(data, size);
	unsigned rows = 0, cols = 0;
	if (conmon_attach_parse_resize((const char *)data, size, &rows,
				       &cols) == 0)
		fuzz_check(size == CONMON_RESIZE_PAYLOAD && rows <= 65535 &&
			   cols <= 65535);
	int exit_code = -1, signo = -1;
	if (conmon_parse_exit_frame((const char *)data, size, &exit_code,
				    &signo))
		fuzz_check(exit_code >= 0 && signo >= 0);
	g_autofree char *message = fuzz_cstr(data, size);
	(void)conmon_exec_error_code(message);
	return 0;
}
