/* The streaming server's HTTP side (libmicrohttpd): routes
 * /exec|attach|portforward/<token>, checks the token, negotiates the
 * SPDY/3.1 or WebSocket upgrade and its sub-protocol, and hands the raw
 * connection to a handler on a thread of its own. What flows over the
 * upgraded connection is the handler's business. */
#pragma once

#include <glib.h>

#include "server/streaming/tokens.h"

/* Also the token kinds. */
typedef enum {
	STREAM_EXEC = 1,
	STREAM_ATTACH = 2,
	STREAM_PORTFORWARD = 3,
} StreamKind;

typedef enum {
	STREAM_SPDY = 1,
	STREAM_WEBSOCKET = 2,
} StreamTransport;

/* The sub-protocols one kind accepts, each list NULL-terminated. The
 * client's order decides (the first one it offers that is listed wins, as
 * Kubernetes' handshake does); "" in a list admits a client that offers
 * none, and the connection's protocol is then "". */
typedef struct {
	const char *const *spdy;      /* X-Stream-Protocol-Version */
	const char *const *websocket; /* Sec-WebSocket-Protocol */
} StreamProtocols;

/* Exec and attach: SPDY v4..v2 and channel.k8s.io, or none; WebSocket
 * v5.channel.k8s.io..v2, channel.k8s.io, base64.channel.k8s.io, or none
 * (binary channel framing, as with channel.k8s.io). */
extern const StreamProtocols stream_remote_command_protocols;
/* Port forward: SPDY portforward.k8s.io or none; WebSocket
 * v4.channel.k8s.io (ports in the query), SPDY/3.1+portforward.k8s.io
 * (SPDY tunnelled in WebSocket), or none. */
extern const StreamProtocols stream_port_forward_protocols;

struct MHD_UpgradeResponseHandle;
struct Httpd;

typedef struct StreamConn {
	StreamKind kind;
	StreamTransport transport;
	/* The negotiated sub-protocol, e.g. "v4.channel.k8s.io"; "" when
	 * the client offered none and the list allowed that. */
	char *protocol;
	/* What token_store_take returned. The handler may take it (and then
	 * set it to NULL); stream_conn_finish frees what is left with
	 * request_free. */
	gpointer request;
	GDestroyNotify request_free;
	/* Decoded query parameters, name -> value (last wins; a bare "x"
	 * gives ""); every "port" or "ports" value in order in query_ports. */
	GHashTable *query;
	GPtrArray *query_ports; /* char* */
	/* The upgraded connection. Non-blocking, as MHD hands it over;
	 * never close it: stream_conn_finish does. With TLS it is a local
	 * socketpair end that MHD relays through TLS; libmicrohttpd 0.9.75
	 * does not pass a TLS client's close on to it (no EOF), so TLS
	 * sessions must also end on their idle timeout. */
	int fd;
	/* Bytes the client sent after the request that MHD already read:
	 * process them before reading fd. */
	const guint8 *extra;
	gsize extra_len;

	/* private */
	struct MHD_UpgradeResponseHandle *urh;
	struct Httpd *httpd;
	void *pending;
} StreamConn;

/* Runs on its own new thread; must end with stream_conn_finish(conn). */
typedef void (*StreamHandler)(StreamConn *conn, gpointer user_data);

/* Close the connection (through MHD) and free conn. Any thread. Waits
 * until MHD has let go of the connection (with TLS: forwarded what the
 * handler wrote last), at most 5 s. */
void stream_conn_finish(StreamConn *conn);

typedef struct {
	const char *address;  /* an IP literal; NULL: 127.0.0.1 */
	guint port;	      /* 0: a random free port */
	const char *tls_cert; /* PEM files; both or neither (NULL or "") */
	const char *tls_key;
	guint connection_timeout; /* seconds for requests; 0: 30 */
} HttpdOptions;

typedef struct Httpd Httpd;

/* Listen and serve. tokens must outlive the server's accepting (until
 * httpd_stop); h runs for every successful upgrade. A NULL protocol table
 * means the default above for that kind. */
Httpd *httpd_start(const HttpdOptions *o, TokenStore *tokens,
		   const StreamProtocols *exec, const StreamProtocols *attach,
		   const StreamProtocols *portforward, StreamHandler h,
		   gpointer user_data, GError **error);

/* "http://127.0.0.1:PORT" ("https" with TLS; IPv6 in brackets). */
const char *httpd_url(Httpd *h);
guint httpd_port(Httpd *h);

/* Stop accepting and stop using tokens; requests in flight get 503.
 * Sessions already handed over run on with their fds until each calls
 * stream_conn_finish; the last one frees the server. h is invalid after
 * this call. */
void httpd_stop(Httpd *h);
