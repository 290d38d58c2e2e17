/* Exec, Attach and PortForward: check the request as kubelet would, then
 * hand out a single-use URL of the streaming server. */
#include "sandbox/container/ctrstream.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

/* What kubelet requires of any remote command request. */
static gboolean check_streams(const char *id, gboolean tty, gboolean in,
			      gboolean out, gboolean err, GError **error)
{
	if (id == NULL || id[0] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "container_id is required");
	if (!in && !out && !err)
		return berth_throw(error, INVALID_ARGUMENT,
				   "one of stdin, stdout and stderr must be "
				   "set");
	if (tty && err)
		return berth_throw(error, INVALID_ARGUMENT,
				   "tty and stderr cannot both be set: a "
				   "terminal has a single output stream");
	return TRUE;
}

BERTH_UNARY(server_exec)
{
	BerthServer *s = ctx;
	const Runtime__V1__ExecRequest *in =
		(const Runtime__V1__ExecRequest *)req;
	if (!check_streams(in->container_id, in->tty, in->stdin, in->stdout,
			   in->stderr, error))
		return NULL;
	if (in->n_cmd == 0 || in->cmd[0][0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT,
					"cmd is required");
	g_autofree char *id = NULL;
	if (!ctr_stream_check(s->containers, in->container_id, &id, NULL, NULL,
			      error))
		return NULL;
	g_autofree char *url =
		streaming_exec_url(s->streaming, id, in->cmd, in->n_cmd,
				   in->tty, in->stdin, in->stdout, in->stderr);
	Runtime__V1__ExecResponse *r =
		reply_new(call, Runtime__V1__ExecResponse,
			  runtime__v1__exec_response__init);
	r->url = arena_strdup(cri_call_arena(call), url);
	return &r->base;
}

BERTH_UNARY(server_attach)
{
	BerthServer *s = ctx;
	const Runtime__V1__AttachRequest *in =
		(const Runtime__V1__AttachRequest *)req;
	if (!check_streams(in->container_id, in->tty, in->stdin, in->stdout,
			   in->stderr, error))
		return NULL;
	g_autofree char *id = NULL;
	gboolean tty = FALSE, has_stdin = FALSE;
	if (!ctr_stream_check(s->containers, in->container_id, &id, &tty,
			      &has_stdin, error))
		return NULL;
	if (in->stdin && !has_stdin)
		return berth_throw_null(
			error, FAILED_PRECONDITION,
			"container %s was created without stdin: "
			"attach without stdin",
			id);
	/* The container's terminal decides: a tty container has one
	 * output stream whatever the request says. */
	g_autofree char *url =
		streaming_attach_url(s->streaming, id, tty, in->stdin,
				     in->stdout, in->stderr && !tty);
	Runtime__V1__AttachResponse *r =
		reply_new(call, Runtime__V1__AttachResponse,
			  runtime__v1__attach_response__init);
	r->url = arena_strdup(cri_call_arena(call), url);
	return &r->base;
}

BERTH_UNARY(server_port_forward)
{
	BerthServer *s = ctx;
	const Runtime__V1__PortForwardRequest *in =
		(const Runtime__V1__PortForwardRequest *)req;
	if (in->pod_sandbox_id == NULL || in->pod_sandbox_id[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT,
					"pod_sandbox_id is required");
	for (gsize i = 0; i < in->n_port; i++)
		if (in->port[i] < 1 || in->port[i] > 65535)
			return berth_throw_null(error, INVALID_ARGUMENT,
						"port %d is not in 1-65535",
						in->port[i]);
	g_autofree char *id = NULL, *netns = NULL;
	if (!pod_stream_netns(ctr_manager_pods(s->containers),
			      in->pod_sandbox_id, &id, &netns, error))
		return NULL;
	g_autofree char *url = streaming_portforward_url(s->streaming, id,
							 in->port, in->n_port);
	Runtime__V1__PortForwardResponse *r =
		reply_new(call, Runtime__V1__PortForwardResponse,
			  runtime__v1__port_forward_response__init);
	r->url = arena_strdup(cri_call_arena(call), url);
	return &r->base;
}
