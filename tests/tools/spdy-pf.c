/* spdy-pf: one port-forward connection through berth's streaming server,
 * spoken as a SPDY/3.1 client with berth's own codecs, for the
 * integration tests. Plain SPDY after an HTTP upgrade, or (--tunnel) SPDY
 * inside WebSocket binary messages, the form newer kubectl uses.
 *
 *   spdy-pf [--tunnel] URL PORT
 *
 * Everything on stdin goes to the pod's port (then a FIN); what comes
 * back goes to stdout, the error stream to stderr. Exit 0 when the error
 * stream stayed empty, 1 when it carried a message, 2 on any protocol or
 * I/O failure. */
#include "server/streaming/spdy.h"
#include "server/streaming/ws.h"

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ERR_STREAM 1
#define DATA_STREAM 3

typedef struct {
	int fd;
	gboolean tunnel;
	SpdyCodec *spdy;
	WsParser *ws;
	GByteArray *raw; /* read from the socket, unparsed */
	GByteArray *sin; /* SPDY bytes (unwrapped in tunnel mode) */
	GString *errors; /* the error stream */
	gboolean data_fin, err_fin;
} Client;

static G_NORETURN void die(const char *what)
{
	fprintf(stderr, "spdy-pf: %s\n", what);
	exit(2);
}

static void send_all(int fd, const guint8 *p, gsize n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			die("send failed");
		p += w;
		n -= w;
	}
}

/* SPDY bytes out, wrapped in a masked binary message when tunnelling. */
static void send_spdy(Client *c, GByteArray *frames)
{
	if (!c->tunnel) {
		send_all(c->fd, frames->data, frames->len);
	} else {
		g_autoptr(GByteArray) msg = g_byte_array_new();
		ws_put_frame_masked(msg, WS_OP_BINARY, TRUE, frames->data,
				    frames->len, g_random_int());
		send_all(c->fd, msg->data, msg->len);
	}
	g_byte_array_set_size(frames, 0);
}

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve the URL's host");
	int fd = socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) < 0)
		die("cannot connect");
	freeaddrinfo(res);
	return fd;
}

/* Send the upgrade request, read the answer; leftover bytes stay in raw. */
static void upgrade(Client *c, const char *hostport, const char *path)
{
	g_autofree char *req = NULL;
	if (c->tunnel)
		req = g_strdup_printf(
			"GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\n"
			"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			"Sec-WebSocket-Protocol: "
			"SPDY/3.1+portforward.k8s.io\r\n"
			"\r\n",
			path, hostport);
	else
		req = g_strdup_printf(
			"POST %s HTTP/1.1\r\nHost: %s\r\nConnection: "
			"Upgrade\r\n"
			"Upgrade: SPDY/3.1\r\n"
			"X-Stream-Protocol-Version: portforward.k8s.io\r\n"
			"Content-Length: 0\r\n\r\n",
			path, hostport);
	send_all(c->fd, (const guint8 *)req, strlen(req));
	for (;;) {
		guint8 buf[4096];
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n <= 0)
			die("connection closed during the upgrade");
		g_byte_array_append(c->raw, buf, n);
		const char *end = g_strstr_len((const char *)c->raw->data,
					       c->raw->len, "\r\n\r\n");
		if (end == NULL)
			continue;
		gsize head = end + 4 - (const char *)c->raw->data;
		if (c->raw->len < 12 ||
		    memcmp(c->raw->data + 9, "101", 3) != 0) {
			fwrite(c->raw->data, 1, c->raw->len, stderr);
			die("the upgrade was refused");
		}
		g_byte_array_remove_range(c->raw, 0, head);
		return;
	}
}

/* Move whole WebSocket messages (tunnel) or raw bytes into sin. */
static void unwrap(Client *c)
{
	if (!c->tunnel) {
		g_byte_array_append(c->sin, c->raw->data, c->raw->len);
		g_byte_array_set_size(c->raw, 0);
		return;
	}
	gsize off = 0;
	while (off < c->raw->len) {
		WsMessage m;
		gboolean have = FALSE;
		g_autoptr(GError) error = NULL;
		gssize used = ws_parse(c->ws, c->raw->data + off,
				       c->raw->len - off, &m, &have, &error);
		if (used < 0)
			die(error->message);
		off += used;
		if (have && m.opcode == WS_OP_BINARY)
			g_byte_array_append(c->sin, m.data, m.len);
		else if (have && m.opcode == WS_OP_CLOSE)
			c->data_fin = c->err_fin = TRUE;
		if (used == 0)
			break;
	}
	g_byte_array_remove_range(c->raw, 0, off);
}

static void handle(Client *c)
{
	gsize off = 0;
	for (;;) {
		SpdyFrame f;
		g_autoptr(GError) error = NULL;
		gssize used = spdy_parse(c->spdy, c->sin->data + off,
					 c->sin->len - off, &f, &error);
		if (used < 0)
			die(error->message);
		if (used == 0)
			break;
		off += used;
		gboolean fin = (f.flags & SPDY_FLAG_FIN) != 0;
		if (f.type == SPDY_DATA && f.stream_id == DATA_STREAM) {
			if (f.len > 0 &&
			    fwrite(f.data, 1, f.len, stdout) != f.len)
				die("stdout");
			c->data_fin |= fin;
		} else if (f.type == SPDY_DATA && f.stream_id == ERR_STREAM) {
			g_string_append_len(c->errors, (const char *)f.data,
					    f.len);
			c->err_fin |= fin;
		} else if ((f.type == SPDY_SYN_REPLY ||
			    f.type == SPDY_HEADERS) &&
			   fin) {
			if (f.stream_id == DATA_STREAM)
				c->data_fin = TRUE;
			if (f.stream_id == ERR_STREAM)
				c->err_fin = TRUE;
		} else if (f.type == SPDY_RST_STREAM || f.type == SPDY_GOAWAY) {
			die("the server reset the stream");
		}
		spdy_frame_clear(&f);
	}
	g_byte_array_remove_range(c->sin, 0, off);
}

int main(int argc, char **argv)
{
	Client c = {.fd = -1};
	int i = 1;
	if (argc > 1 && strcmp(argv[1], "--tunnel") == 0) {
		c.tunnel = TRUE;
		i++;
	}
	if (argc - i != 2)
		die("usage: spdy-pf [--tunnel] URL PORT");
	const char *url = argv[i], *port = argv[i + 1];
	if (!g_str_has_prefix(url, "http://"))
		die("only http:// URLs");
	const char *hp = url + 7;
	const char *slash = strchr(hp, '/');
	if (slash == NULL)
		die("the URL has no path");
	g_autofree char *hostport = g_strndup(hp, slash - hp);
	char *colon = strrchr(hostport, ':');
	if (colon == NULL)
		die("the URL has no port");
	g_autofree char *host = g_strndup(hostport, colon - hostport);
	c.fd = dial(host, colon + 1);
	c.spdy = spdy_codec_new(0);
	c.ws = ws_parser_new(16 << 20, FALSE);
	c.raw = g_byte_array_new();
	c.sin = g_byte_array_new();
	c.errors = g_string_new(NULL);
	upgrade(&c, hostport, slash);

	g_autoptr(GByteArray) out = g_byte_array_new();
	SpdyHeader eh[] = {{"streamtype", "error", 0},
			   {"port", (char *)port, 0},
			   {"requestid", "0", 0}};
	SpdyHeader dh[] = {{"streamtype", "data", 0},
			   {"port", (char *)port, 0},
			   {"requestid", "0", 0}};
	spdy_put_syn_stream(c.spdy, out, ERR_STREAM, 0, 0, 0, eh, 3);
	spdy_put_syn_stream(c.spdy, out, DATA_STREAM, 0, 0, 0, dh, 3);
	send_spdy(&c, out);

	gboolean in_open = TRUE;
	while (!(c.data_fin && c.err_fin)) {
		struct pollfd p[2] = {
			{.fd = c.fd, .events = POLLIN},
			{.fd = 0, .events = in_open ? POLLIN : 0}};
		if (poll(p, 2, 30000) <= 0)
			die("timed out");
		if (p[1].revents & (POLLIN | POLLHUP)) {
			guint8 buf[32768];
			ssize_t n = read(0, buf, sizeof buf);
			if (n > 0) {
				spdy_put_data(out, DATA_STREAM, 0, buf, n);
			} else {
				spdy_put_data(out, DATA_STREAM, SPDY_FLAG_FIN,
					      NULL, 0);
				in_open = FALSE;
			}
			send_spdy(&c, out);
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			guint8 buf[65536];
			ssize_t n = recv(c.fd, buf, sizeof buf, 0);
			if (n <= 0)
				break;
			g_byte_array_append(c.raw, buf, n);
			unwrap(&c);
			handle(&c);
		}
	}
	fflush(stdout);
	fputs(c.errors->str, stderr);
	int rc = c.errors->len > 0 ? 1 : (c.data_fin ? 0 : 2);
	close(c.fd);
	spdy_codec_free(c.spdy);
	ws_parser_free(c.ws);
	g_byte_array_unref(c.raw);
	g_byte_array_unref(c.sin);
	g_string_free(c.errors, TRUE);
	return rc;
}
