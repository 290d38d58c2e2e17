/* The table between cri/api.proto's `enum Signal` tags and the signal
 * numbers berth keeps (ContainerConfig.stop_signal in, ContainerStatus
 * .stop_signal out). */
#include "server/signal.h"

#include <glib.h>
#include <signal.h>

/* Tags 1..34 as in api.proto; the canonical name comes before its alias so
 * that number -> tag finds it first. */
static const struct {
	int tag;
	int signo;
} fixed[] = {
	{1, SIGABRT},  {2, SIGALRM},  {3, SIGBUS},     {4, SIGCHLD},
	{5, SIGCHLD},  {6, SIGCONT},  {7, SIGFPE},     {8, SIGHUP},
	{9, SIGILL},   {10, SIGINT},  {11, SIGIO},     {12, SIGABRT},
	{13, SIGKILL}, {14, SIGPIPE}, {15, SIGIO},     {16, SIGPROF},
	{17, SIGPWR},  {18, SIGQUIT}, {19, SIGSEGV},   {20, SIGSTKFLT},
	{21, SIGSTOP}, {22, SIGSYS},  {23, SIGTERM},   {24, SIGTRAP},
	{25, SIGTSTP}, {26, SIGTTIN}, {27, SIGTTOU},   {28, SIGURG},
	{29, SIGUSR1}, {30, SIGUSR2}, {31, SIGVTALRM}, {32, SIGWINCH},
	{33, SIGXCPU}, {34, SIGXFSZ},
};

/* Tags 35..50 are SIGRTMIN+0..15, 51..64 SIGRTMAX-14..1, 65 SIGRTMAX. */
#define TAG_RTMIN 35
#define TAG_RTMAX 65
#define RTMIN_SPAN 16

int server_signal_from_cri(int tag)
{
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
		if (fixed[i].tag == tag)
			return fixed[i].signo;
	if (tag >= TAG_RTMIN && tag < TAG_RTMIN + RTMIN_SPAN)
		return SIGRTMIN + (tag - TAG_RTMIN);
	if (tag >= TAG_RTMIN + RTMIN_SPAN && tag <= TAG_RTMAX)
		return SIGRTMAX - (TAG_RTMAX - tag);
	return 0;
}

int server_signal_to_cri(int signo)
{
	if (signo <= 0)
		return 0;
	for (gsize i = 0; i < G_N_ELEMENTS(fixed); i++)
		if (fixed[i].signo == signo)
			return fixed[i].tag;
	if (signo >= SIGRTMIN && signo < SIGRTMIN + RTMIN_SPAN)
		return TAG_RTMIN + (signo - SIGRTMIN);
	if (signo <= SIGRTMAX &&
	    signo > SIGRTMAX - (TAG_RTMAX - TAG_RTMIN - RTMIN_SPAN + 1))
		return TAG_RTMAX - (SIGRTMAX - signo);
	return 0;
}
