/* Fuzz target: the streaming server's HTTP request path
 * (server/streaming/httpd.c on libmicrohttpd): routing, token check,
 * SPDY/WebSocket upgrade negotiation and query parsing, driven through a
 * real server on 127.0.0.1 (the checks are private to httpd.c and run on
 * MHD's connection state, so the request goes over a loopback socket). The
 * input is the raw request; "@E@", "@A@" and "@P@" in it are replaced by
 * fresh exec, attach and port-forward tokens. A session that gets its
 * upgrade ends at once. */
#include "server/streaming/httpd.h"
#include "server/streaming/tokens.h"
#include "tests/fuzz/fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static TokenStore *tokens;
static Httpd *server;

static void on_session(StreamConn *conn, gpointer user_data)
{
	(void)user_data;
	fuzz_check(conn->protocol != NULL && conn->query != NULL);
	for (guint i = 0; i < conn->query_ports->len; i++)
		fuzz_check(conn->query_ports->pdata[i] != NULL);
	stream_conn_finish(conn);
}

static void start_server(void)
{
	g_autoptr(GError) error = NULL;
	tokens = token_store_new(2000);
	HttpdOptions o = {.address = "127.0.0.1", .connection_timeout = 5};
	server = httpd_start(&o, tokens, NULL, NULL, NULL, on_session, NULL,
			     &error);
	if (server == NULL)
		fuzz_fail("fuzz_httpd: cannot start the server: %s",
			  error->message);
}

/* The request with its placeholders replaced by live tokens. */
static GString *request(const uint8_t *data, size_t size)
{
	static const char *const marks[] = {NULL, "@E@", "@A@", "@P@"};
	char *tok[4] = {NULL};
	for (int k = STREAM_EXEC; k <= STREAM_PORTFORWARD; k++)
		tok[k] = token_store_add(tokens, k, g_strdup("req"), g_free);
	GString *s = g_string_sized_new(size + 64);
	for (size_t i = 0; i < size; i++) {
		int k = STREAM_EXEC;
		while (k <= STREAM_PORTFORWARD &&
		       (size - i < 3 || memcmp(data + i, marks[k], 3) != 0))
			k++;
		if (k <= STREAM_PORTFORWARD) {
			g_string_append(s, tok[k]);
			i += 2;
		} else {
			g_string_append_c(s, (char)data[i]);
		}
	}
	for (int k = STREAM_EXEC; k <= STREAM_PORTFORWARD; k++)
		g_free(tok[k]);
	return s;
}

static int connect_server(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fuzz_check(fd >= 0);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(httpd_port(server)),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	/* libFuzzer's timer signal may interrupt us (EINTR): the connection
	 * then completes on its own. */
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINTR)
		fuzz_fail("fuzz_httpd: connect: %s", g_strerror(errno));
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	return fd;
}

/* FALSE when the server hung up early (fine: it may refuse at once). */
static gboolean send_all(int fd, const GString *req)
{
	gsize off = 0;
	while (off < req->len) {
		ssize_t n =
			send(fd, req->str + off, req->len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return FALSE;
		off += n;
	}
	return TRUE;
}

/* Read the answer until the server closes. MHD keeps a half-closed
 * connection with an unfinished request until its timeout: without a
 * blank line ending the header there is no answer to wait for, and an
 * unfinished body gets 300 ms. */
static void read_answer(int fd, const GString *req)
{
	if (g_strstr_len(req->str, req->len, "\r\n\r\n") == NULL &&
	    g_strstr_len(req->str, req->len, "\n\n") == NULL)
		return;
	char buf[4096];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	for (;;) {
		int r = poll(&p, 1, 300);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		ssize_t n = read(fd, buf, sizeof buf);
		if (n == 0 || (n < 0 && errno != EINTR))
			return;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (server == NULL)
		start_server();
	g_autoptr(GString) req = request(data, size);
	int fd = connect_server();
	if (send_all(fd, req)) {
		shutdown(fd, SHUT_WR);
		read_answer(fd, req);
	}
	close(fd);
	return 0;
}
