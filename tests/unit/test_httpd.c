/* The streaming HTTP server against real loopback sockets: routes, token
 * checks, refusals, SPDY and WebSocket upgrades reaching the handler with
 * the right protocol, query and early bytes, echo over the upgraded fd, and
 * a stop while sessions are alive. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/streaming/httpd.h"
#include "server/streaming/ws.h"

/* --- what the handler saw --------------------------------------------------
 */

typedef struct {
	StreamKind kind;
	StreamTransport transport;
	char *protocol;
	char *request;
	char *command; /* query "command" */
	char *ports;   /* query_ports joined by "," */
	char *extra;
	gboolean nonblocking;
} Seen;

static GMutex seen_lock;
static GCond seen_cond;
static GPtrArray *seen; /* Seen* */
static guint finished;	/* sessions that called stream_conn_finish */

static void seen_free(gpointer p)
{
	Seen *s = p;
	g_free(s->protocol);
	g_free(s->request);
	g_free(s->command);
	g_free(s->ports);
	g_free(s->extra);
	g_free(s);
}

static void send_all(int fd, const void *buf, gsize len)
{
	const char *p = buf;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {fd, POLLOUT, 0};
			poll(&pfd, 1, 1000);
			continue;
		}
		if (n <= 0)
			return;
		p += n;
		len -= n;
	}
}

/* Record the connection, echo the early bytes, then echo until EOF or
 * "quit" (answered with "bye"). */
static void echo_handler(StreamConn *c, gpointer user_data)
{
	assert_int_equal(GPOINTER_TO_INT(user_data), 42);
	Seen *s = g_new0(Seen, 1);
	s->kind = c->kind;
	s->transport = c->transport;
	s->protocol = g_strdup(c->protocol);
	s->request = g_strdup(c->request);
	const char *cmd = g_hash_table_lookup(c->query, "command");
	s->command = g_strdup(cmd ? cmd : "(none)");
	g_ptr_array_add(c->query_ports, NULL);
	s->ports = g_strjoinv(",", (char **)c->query_ports->pdata);
	g_ptr_array_remove_index(c->query_ports, c->query_ports->len - 1);
	s->extra = c->extra ? g_strndup((const char *)c->extra, c->extra_len)
			    : g_strdup("");
	s->nonblocking = (fcntl(c->fd, F_GETFL) & O_NONBLOCK) != 0;
	g_mutex_lock(&seen_lock);
	g_ptr_array_add(seen, s);
	g_cond_broadcast(&seen_cond);
	g_mutex_unlock(&seen_lock);

	send_all(c->fd, c->extra, c->extra_len);
	for (;;) {
		struct pollfd pfd = {c->fd, POLLIN, 0};
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		char buf[512];
		ssize_t n = recv(c->fd, buf, sizeof buf, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		if (n == 4 && memcmp(buf, "quit", 4) == 0) {
			send_all(c->fd, "bye", 3);
			break;
		}
		send_all(c->fd, buf, n);
	}
	stream_conn_finish(c);
	g_mutex_lock(&seen_lock);
	finished++;
	g_cond_broadcast(&seen_cond);
	g_mutex_unlock(&seen_lock);
}

static Seen *wait_seen(guint n)
{
	gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
	g_mutex_lock(&seen_lock);
	while (seen->len < n && g_cond_wait_until(&seen_cond, &seen_lock, end))
		;
	Seen *s = seen->len >= n ? seen->pdata[n - 1] : NULL;
	g_mutex_unlock(&seen_lock);
	assert_non_null(s);
	return s;
}

static void wait_finished(guint n)
{
	gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
	g_mutex_lock(&seen_lock);
	while (finished < n && g_cond_wait_until(&seen_cond, &seen_lock, end))
		;
	guint got = finished;
	g_mutex_unlock(&seen_lock);
	assert_int_equal(got, n);
}

/* --- a raw client ------------------------------------------------------------
 */

static gint64 fake_now;
static gint64 fake_clock(gpointer data)
{
	(void)data;
	return fake_now;
}

typedef struct {
	TokenStore *tokens;
	Httpd *httpd;
	guint port;
} Fixture;

static int dial(guint port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sin = {.sin_family = AF_INET,
				  .sin_port = htons(port)};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
		close(fd);
		return -1;
	}
	struct timeval tv = {5, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* Read until the end of the response head; what came after it stays in
 * *rest. */
static char *read_head(int fd, GString **rest)
{
	GString *buf = g_string_new("");
	for (;;) {
		char *end = strstr(buf->str, "\r\n\r\n");
		if (end != NULL) {
			gsize head = end - buf->str + 4;
			*rest = g_string_new_len(buf->str + head,
						 buf->len - head);
			g_string_truncate(buf, head);
			return g_string_free(buf, FALSE);
		}
		char tmp[1024];
		ssize_t n = recv(fd, tmp, sizeof tmp, 0);
		if (n <= 0) {
			*rest = g_string_new("");
			return g_string_free(buf, FALSE);
		}
		g_string_append_len(buf, tmp, n);
	}
}

/* One request on a new connection; the whole answer up to EOF. */
static char *roundtrip(guint port, const char *req)
{
	int fd = dial(port);
	assert_true(fd >= 0);
	send_all(fd, req, strlen(req));
	GString *buf = g_string_new("");
	char tmp[1024];
	ssize_t n;
	while ((n = recv(fd, tmp, sizeof tmp, 0)) > 0)
		g_string_append_len(buf, tmp, n);
	close(fd);
	return g_string_free(buf, FALSE);
}

static void assert_status(const char *resp, const char *status)
{
	g_autofree char *want = g_strdup_printf("HTTP/1.1 %s", status);
	if (!g_str_has_prefix(resp, want))
		fail_msg("expected %s, got:\n%s", want, resp);
}

static gboolean has_header(const char *resp, const char *line)
{
	g_autofree char *l = g_ascii_strdown(resp, -1);
	g_autofree char *w = g_ascii_strdown(line, -1);
	g_autofree char *wl = g_strdup_printf("\r\n%s\r\n", w);
	return strstr(l, wl) != NULL;
}

static char *req(const char *method, const char *path, const char *headers)
{
	return g_strdup_printf("%s %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n",
			       method, path, headers);
}

#define SPDY_HDRS "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
#define WS_HDRS                                                                \
	"Connection: Upgrade\r\nUpgrade: websocket\r\n"                        \
	"Sec-WebSocket-Version: 13\r\n"                                        \
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

static char *add(Fixture *f, StreamKind kind, const char *data)
{
	return token_store_add(f->tokens, kind, g_strdup(data), g_free);
}

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->tokens = token_store_new(60000);
	fake_now = 1;
	token_store_set_clock(f->tokens, fake_clock, NULL);
	g_mutex_lock(&seen_lock);
	seen = g_ptr_array_new_with_free_func(seen_free);
	finished = 0;
	g_mutex_unlock(&seen_lock);
	HttpdOptions o = {.address = "127.0.0.1", .port = 0};
	g_autoptr(GError) error = NULL;
	f->httpd = httpd_start(&o, f->tokens, NULL, NULL, NULL, echo_handler,
			       GINT_TO_POINTER(42), &error);
	if (f->httpd == NULL)
		fail_msg("httpd_start: %s", error->message);
	f->port = httpd_port(f->httpd);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	if (f->httpd != NULL)
		httpd_stop(f->httpd);
	wait_finished(seen->len);
	token_store_free(f->tokens);
	g_mutex_lock(&seen_lock);
	g_ptr_array_unref(seen);
	seen = NULL;
	g_mutex_unlock(&seen_lock);
	g_free(f);
	return 0;
}

/* --- tests -----------------------------------------------------------------
 */

static void test_url(void **state)
{
	Fixture *f = *state;
	assert_true(f->port > 0);
	g_autofree char *want = g_strdup_printf("http://127.0.0.1:%u", f->port);
	assert_string_equal(httpd_url(f->httpd), want);
}

static void test_not_found(void **state)
{
	Fixture *f = *state;
	g_autofree char *t = add(f, STREAM_EXEC, "r1");
	const char *paths[] = {
		"/",	  "/exec",     "/exec/",       "/exec/nope",
		"/foo/x", "/exec/x/y", "/attach/nope", "/portforward/"};
	for (gsize i = 0; i < G_N_ELEMENTS(paths); i++) {
		g_autofree char *rq = req("GET", paths[i], SPDY_HDRS);
		g_autofree char *r = roundtrip(f->port, rq);
		assert_status(r, "404");
	}
	/* Right token, wrong kind: 404, and the token survives. */
	g_autofree char *p1 = g_strdup_printf("/attach/%s", t);
	g_autofree char *p2 = g_strdup_printf("/portforward/%s", t);
	g_autofree char *p3 = g_strdup_printf("/exec/%s/", t);
	const char *wrong[] = {p1, p2, p3};
	for (gsize i = 0; i < G_N_ELEMENTS(wrong); i++) {
		g_autofree char *rq = req("GET", wrong[i], SPDY_HDRS);
		g_autofree char *r = roundtrip(f->port, rq);
		assert_status(r, "404");
	}
	assert_true(token_store_contains(f->tokens, t, STREAM_EXEC));
	/* Other methods. */
	g_autofree char *p4 = g_strdup_printf("/exec/%s", t);
	g_autofree char *rq = req("PUT", p4, SPDY_HDRS);
	g_autofree char *r = roundtrip(f->port, rq);
	assert_status(r, "405");
	/* Expired. */
	fake_now += 61 * G_TIME_SPAN_SECOND;
	g_autofree char *rq2 = req("GET", p4, SPDY_HDRS);
	g_autofree char *r2 = roundtrip(f->port, rq2);
	assert_status(r2, "404");
}

static void test_bad_requests_keep_the_token(void **state)
{
	Fixture *f = *state;
	g_autofree char *t = add(f, STREAM_EXEC, "r1");
	g_autofree char *path = g_strdup_printf("/exec/%s", t);
	struct {
		const char *method, *headers, *status, *header;
	} cases[] = {
		{"GET", "", "400", NULL},
		{"POST", "Upgrade: SPDY/3.1\r\n", "400", NULL},
		{"GET", "Connection: Upgrade\r\nUpgrade: h2c\r\n", "400", NULL},
		{"POST", SPDY_HDRS "X-Stream-Protocol-Version: v9\r\n", "400",
		 "X-Accepted-Stream-Protocol-Versions: v4.channel.k8s.io, "
		 "v3.channel.k8s.io, v2.channel.k8s.io, channel.k8s.io"},
		{"GET",
		 "Connection: Upgrade\r\nUpgrade: websocket\r\n"
		 "Sec-WebSocket-Version: 8\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
		 "400", "Sec-WebSocket-Version: 13"},
		{"GET",
		 "Connection: Upgrade\r\nUpgrade: websocket\r\n"
		 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: short\r\n",
		 "400", NULL},
		{"POST", WS_HDRS, "400", NULL},
		{"GET", WS_HDRS "Sec-WebSocket-Protocol: foo, bar\r\n", "400",
		 NULL},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *rq =
			req(cases[i].method, path, cases[i].headers);
		g_autofree char *r = roundtrip(f->port, rq);
		assert_status(r, cases[i].status);
		if (cases[i].header && !has_header(r, cases[i].header))
			fail_msg("case %zu lacks %s:\n%s", i, cases[i].header,
				 r);
	}
	/* HTTP/1.0 cannot upgrade. */
	g_autofree char *old =
		g_strdup_printf("POST %s HTTP/1.0\r\n" SPDY_HDRS "\r\n", path);
	g_autofree char *r = roundtrip(f->port, old);
	assert_true(g_str_has_prefix(r, "HTTP/1.") && strstr(r, " 400 "));
	assert_true(token_store_contains(f->tokens, t, STREAM_EXEC));
	assert_int_equal(seen->len, 0);
}

/* Upgrade, check the head, the echo of the early bytes and of more bytes,
 * then half-close and expect EOF from the server. Returns the head. */
static char *upgrade_and_echo(guint port, const char *request,
			      const char *early)
{
	int fd = dial(port);
	assert_true(fd >= 0);
	g_autofree char *first = g_strconcat(request, early, NULL);
	send_all(fd, first, strlen(first));
	GString *rest = NULL;
	char *head = read_head(fd, &rest);
	assert_status(head, "101");
	while (rest->len < strlen(early)) {
		char tmp[256];
		ssize_t n = recv(fd, tmp, sizeof tmp, 0);
		assert_true(n > 0);
		g_string_append_len(rest, tmp, n);
	}
	assert_string_equal(rest->str, early);
	send_all(fd, "more", 4);
	char buf[4];
	gsize got = 0;
	while (got < 4) {
		ssize_t n = recv(fd, buf + got, 4 - got, 0);
		assert_true(n > 0);
		got += n;
	}
	assert_memory_equal(buf, "more", 4);
	shutdown(fd, SHUT_WR);
	char tmp[16];
	assert_int_equal(recv(fd, tmp, sizeof tmp, 0), 0);
	close(fd);
	g_string_free(rest, TRUE);
	return head;
}

static void test_spdy_upgrade(void **state)
{
	Fixture *f = *state;
	g_autofree char *t = add(f, STREAM_EXEC, "exec-req");
	g_autofree char *path = g_strdup_printf(
		"/exec/%s?command=ls&command=-l&stdout=1&tty", t);
	g_autofree char *rq = req(
		"POST", path,
		SPDY_HDRS "X-Stream-Protocol-Version: v9.channel.k8s.io, "
			  "v3.channel.k8s.io\r\n"
			  "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n");
	g_autofree char *head = upgrade_and_echo(f->port, rq, "EARLY");
	assert_true(has_header(head, "Upgrade: SPDY/3.1"));
	if (!has_header(head, "Connection: Upgrade"))
		fail_msg("%s", head);
	assert_true(has_header(head, "X-Stream-Protocol-Version: "
				     "v3.channel.k8s.io"));
	Seen *s = wait_seen(1);
	assert_int_equal(s->kind, STREAM_EXEC);
	assert_int_equal(s->transport, STREAM_SPDY);
	assert_string_equal(s->protocol, "v3.channel.k8s.io");
	assert_string_equal(s->request, "exec-req");
	assert_string_equal(s->command, "-l");
	assert_string_equal(s->extra, "EARLY");
	assert_true(s->nonblocking);
	wait_finished(1);
	/* Used once: now 404. */
	g_autofree char *r = roundtrip(f->port, rq);
	assert_status(r, "404");

	/* No version offered: the unversioned protocol, no header back. */
	g_autofree char *t2 = add(f, STREAM_ATTACH, "attach-req");
	g_autofree char *path2 = g_strdup_printf("/attach/%s", t2);
	g_autofree char *rq2 = req("GET", path2, SPDY_HDRS);
	g_autofree char *head2 = upgrade_and_echo(f->port, rq2, "");
	assert_null(strstr(head2, "X-Stream-Protocol-Version"));
	Seen *s2 = wait_seen(2);
	assert_int_equal(s2->kind, STREAM_ATTACH);
	assert_string_equal(s2->protocol, "");
	assert_string_equal(s2->extra, "");
	assert_string_equal(s2->command, "(none)");
}

static void test_websocket_upgrade(void **state)
{
	Fixture *f = *state;
	g_autofree char *t = add(f, STREAM_PORTFORWARD, "pf-req");
	g_autofree char *path =
		g_strdup_printf("/portforward/%s?ports=80&ports=443", t);
	g_autofree char *rq =
		req("GET", path,
		    WS_HDRS "Sec-WebSocket-Protocol: foo, v4.channel.k8s.io, "
			    "SPDY/3.1+portforward.k8s.io\r\n");
	g_autoptr(GByteArray) frame = g_byte_array_new();
	ws_put_frame_masked(frame, WS_OP_BINARY, TRUE, "hi", 2, 0x01020304);
	g_autofree char *early = g_strndup((char *)frame->data, frame->len);
	g_autofree char *head = upgrade_and_echo(f->port, rq, early);
	assert_true(has_header(head, "Upgrade: websocket"));
	assert_true(has_header(head, "Connection: Upgrade"));
	assert_true(has_header(head, "Sec-WebSocket-Accept: "
				     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	assert_true(has_header(head, "Sec-WebSocket-Protocol: "
				     "v4.channel.k8s.io"));
	Seen *s = wait_seen(1);
	assert_int_equal(s->kind, STREAM_PORTFORWARD);
	assert_int_equal(s->transport, STREAM_WEBSOCKET);
	assert_string_equal(s->protocol, "v4.channel.k8s.io");
	assert_string_equal(s->ports, "80,443");
	assert_string_equal(s->extra, early);

	/* Exec over WebSocket, v5 offered first; no protocol: "". */
	g_autofree char *t2 = add(f, STREAM_EXEC, "x");
	g_autofree char *p2 = g_strdup_printf("/exec/%s", t2);
	g_autofree char *rq2 =
		req("GET", p2,
		    WS_HDRS "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"
			    "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n");
	g_autofree char *h2 = upgrade_and_echo(f->port, rq2, "");
	assert_string_equal(wait_seen(2)->protocol, "v5.channel.k8s.io");
	g_autofree char *t3 = add(f, STREAM_EXEC, "x");
	g_autofree char *p3 = g_strdup_printf("/exec/%s", t3);
	g_autofree char *rq3 = req("GET", p3, WS_HDRS);
	g_autofree char *h3 = upgrade_and_echo(f->port, rq3, "");
	assert_null(strstr(h3, "Sec-WebSocket-Protocol"));
	assert_string_equal(wait_seen(3)->protocol, "");
}

/* A session outlives httpd_stop: it keeps its fd and echoes on; new
 * connections are refused; the last finish frees the server. */
static void test_stop_with_live_sessions(void **state)
{
	Fixture *f = *state;
	int fds[2];
	for (int i = 0; i < 2; i++) {
		g_autofree char *t = add(f, STREAM_EXEC, "x");
		g_autofree char *path = g_strdup_printf("/exec/%s", t);
		g_autofree char *rq = req("POST", path, SPDY_HDRS);
		fds[i] = dial(f->port);
		send_all(fds[i], rq, strlen(rq));
		GString *rest = NULL;
		g_autofree char *head = read_head(fds[i], &rest);
		assert_status(head, "101");
		g_string_free(rest, TRUE);
		wait_seen(i + 1);
	}
	g_autofree char *late = add(f, STREAM_EXEC, "never");
	httpd_stop(f->httpd);
	f->httpd = NULL;
	assert_int_equal(dial(f->port), -1);
	for (int i = 0; i < 2; i++) {
		send_all(fds[i], "abc", 3);
		char buf[3];
		gsize got = 0;
		while (got < 3) {
			ssize_t n = recv(fds[i], buf + got, 3 - got, 0);
			assert_true(n > 0);
			got += n;
		}
		assert_memory_equal(buf, "abc", 3);
		shutdown(fds[i], SHUT_WR);
		char tmp[8];
		assert_int_equal(recv(fds[i], tmp, sizeof tmp, 0), 0);
		close(fds[i]);
	}
	wait_finished(2);
	/* The token store was left alone after the stop. */
	assert_true(token_store_contains(f->tokens, late, STREAM_EXEC));
}

static void test_stop_idle(void **state)
{
	(void)state;
	g_autoptr(TokenStore) tokens = token_store_new(1000);
	HttpdOptions o = {.address = "::1", .port = 0};
	g_autoptr(GError) error = NULL;
	Httpd *h = httpd_start(&o, tokens, NULL, NULL, NULL, echo_handler, NULL,
			       &error);
	if (h == NULL) { /* no IPv6 here */
		g_clear_error(&error);
		o.address = "127.0.0.1";
		h = httpd_start(&o, tokens, NULL, NULL, NULL, echo_handler,
				NULL, &error);
	} else {
		g_autofree char *want =
			g_strdup_printf("http://[::1]:%u", httpd_port(h));
		assert_string_equal(httpd_url(h), want);
	}
	assert_non_null(h);
	httpd_stop(h);
	/* Bad options. */
	HttpdOptions bad = {.address = "localhost"};
	assert_null(httpd_start(&bad, tokens, NULL, NULL, NULL, echo_handler,
				NULL, &error));
	assert_int_equal(error->code, 3);
	g_clear_error(&error);
	HttpdOptions half = {.tls_cert = "/nonexistent.pem"};
	assert_null(httpd_start(&half, tokens, NULL, NULL, NULL, echo_handler,
				NULL, &error));
	g_clear_error(&error);
	HttpdOptions missing = {.tls_cert = "/nonexistent.pem",
				.tls_key = "/nonexistent.key"};
	assert_null(httpd_start(&missing, tokens, NULL, NULL, NULL,
				echo_handler, NULL, &error));
	assert_non_null(strstr(error->message, "nonexistent"));
}

/* --- TLS --------------------------------------------------------------------
 */

/* A self-signed EC certificate and its key as PEM files in dir. */
static void write_cert(const char *cert_path, const char *key_path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509 *x = X509_new();
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"127.0.0.1", -1, -1,
				   0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	FILE *f = fopen(cert_path, "w");
	assert_non_null(f);
	PEM_write_X509(f, x);
	fclose(f);
	f = fopen(key_path, "w");
	assert_non_null(f);
	PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void ssl_write_all(SSL *ssl, const char *buf, int len)
{
	assert_int_equal(SSL_write(ssl, buf, len), len);
}

static void ssl_read_exact(SSL *ssl, char *buf, int len)
{
	int got = 0;
	while (got < len) {
		int n = SSL_read(ssl, buf + got, len - got);
		assert_true(n > 0);
		got += n;
	}
}

static void test_tls(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-tls-XXXXXX", NULL);
	g_autofree char *cert = g_build_filename(dir, "cert.pem", NULL);
	g_autofree char *key = g_build_filename(dir, "key.pem", NULL);
	write_cert(cert, key);
	TokenStore *tokens = token_store_new(60000);
	g_mutex_lock(&seen_lock);
	seen = g_ptr_array_new_with_free_func(seen_free);
	finished = 0;
	g_mutex_unlock(&seen_lock);
	HttpdOptions o = {.tls_cert = cert, .tls_key = key};
	g_autoptr(GError) error = NULL;
	Httpd *h = httpd_start(&o, tokens, NULL, NULL, NULL, echo_handler,
			       GINT_TO_POINTER(42), &error);
	if (h == NULL)
		fail_msg("httpd_start: %s", error->message);
	g_autofree char *want =
		g_strdup_printf("https://127.0.0.1:%u", httpd_port(h));
	assert_string_equal(httpd_url(h), want);

	g_autofree char *t =
		token_store_add(tokens, STREAM_EXEC, g_strdup("tls"), g_free);
	g_autofree char *path = g_strdup_printf("/exec/%s", t);
	g_autofree char *rq = req(
		"POST", path,
		SPDY_HDRS "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n");
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	int fd = dial(httpd_port(h));
	SSL_set_fd(ssl, fd);
	assert_int_equal(SSL_connect(ssl), 1);
	ssl_write_all(ssl, rq, strlen(rq));
	GString *head = g_string_new("");
	while (strstr(head->str, "\r\n\r\n") == NULL) {
		char c;
		ssl_read_exact(ssl, &c, 1);
		g_string_append_c(head, c);
	}
	assert_status(head->str, "101");
	g_string_free(head, TRUE);
	assert_string_equal(wait_seen(1)->protocol, "v4.channel.k8s.io");
	ssl_write_all(ssl, "secret", 6);
	char buf[6];
	ssl_read_exact(ssl, buf, 6);
	assert_memory_equal(buf, "secret", 6);
	/* Stop while the session lives: it still echoes through TLS. */
	httpd_stop(h);
	ssl_write_all(ssl, "again", 5);
	ssl_read_exact(ssl, buf, 5);
	assert_memory_equal(buf, "again", 5);
	/* The server ends the session: its last bytes arrive, then the TLS
	 * close. (libmicrohttpd 0.9.75 does not pass a TLS client's close on
	 * to the session's socket, so the server must be the one to end.) */
	ssl_write_all(ssl, "quit", 4);
	ssl_read_exact(ssl, buf, 3);
	assert_memory_equal(buf, "bye", 3);
	assert_true(SSL_read(ssl, buf, 1) <= 0);
	wait_finished(1);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	token_store_free(tokens);
	g_mutex_lock(&seen_lock);
	g_ptr_array_unref(seen);
	seen = NULL;
	g_mutex_unlock(&seen_lock);
	unlink(cert);
	unlink(key);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_bad_requests_keep_the_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spdy_upgrade, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_websocket_upgrade, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_with_live_sessions,
						setup, teardown),
		cmocka_unit_test(test_stop_idle),
		cmocka_unit_test(test_tls),
	};
	return cmocka_run_group_tests_name("httpd", tests, NULL, NULL);
}
