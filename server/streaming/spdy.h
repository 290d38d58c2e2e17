/* The SPDY/3.1 frame codec the streaming server speaks to kubelet and crictl
 * (moby/spdystream on their side). Pure: bytes in, frames out; frames in,
 * bytes out. One SpdyCodec per connection holds both header-compression
 * streams; sessions, streams and flow control live in the caller. */
#pragma once

#include <glib.h>

typedef enum {
	SPDY_DATA = 0,
	SPDY_SYN_STREAM = 1,
	SPDY_SYN_REPLY = 2,
	SPDY_RST_STREAM = 3,
	SPDY_SETTINGS = 4,
	SPDY_PING = 6,
	SPDY_GOAWAY = 7,
	SPDY_HEADERS = 8,
	SPDY_WINDOW_UPDATE = 9,
	/* A control frame of a type this codec does not know (NOOP,
	 * CREDENTIAL, anything newer): consumed and to be ignored. Its wire
	 * type is in SpdyFrame.control_type. */
	SPDY_SKIPPED = 0x10000,
} SpdyType;

#define SPDY_VERSION 3

/* Frame flags. FIN: DATA, SYN_STREAM, SYN_REPLY, HEADERS. UNIDIRECTIONAL:
 * SYN_STREAM. CLEAR_SETTINGS: SETTINGS. */
#define SPDY_FLAG_FIN 0x01
#define SPDY_FLAG_UNIDIRECTIONAL 0x02
#define SPDY_FLAG_CLEAR_SETTINGS 0x01

/* RST_STREAM status codes (SPDY/3.1 section 2.6.3). */
enum {
	SPDY_RST_PROTOCOL_ERROR = 1,
	SPDY_RST_INVALID_STREAM = 2,
	SPDY_RST_REFUSED_STREAM = 3,
	SPDY_RST_UNSUPPORTED_VERSION = 4,
	SPDY_RST_CANCEL = 5,
	SPDY_RST_INTERNAL_ERROR = 6,
	SPDY_RST_FLOW_CONTROL_ERROR = 7,
	SPDY_RST_STREAM_IN_USE = 8,
	SPDY_RST_STREAM_ALREADY_CLOSED = 9,
	SPDY_RST_INVALID_CREDENTIALS = 10, /* SPDY/3 only; unused in 3.1 */
	SPDY_RST_FRAME_TOO_LARGE = 11,
};

/* GOAWAY status codes. The spec's INTERNAL_ERROR is 11; spdystream names
 * 2 that way, so a receiver should treat any non-zero status as an error. */
enum {
	SPDY_GOAWAY_OK = 0,
	SPDY_GOAWAY_PROTOCOL_ERROR = 1,
	SPDY_GOAWAY_INTERNAL_ERROR = 11,
};

/* SETTINGS ids and per-entry flags. */
enum {
	SPDY_SETTINGS_UPLOAD_BANDWIDTH = 1,
	SPDY_SETTINGS_DOWNLOAD_BANDWIDTH = 2,
	SPDY_SETTINGS_ROUND_TRIP_TIME = 3,
	SPDY_SETTINGS_MAX_CONCURRENT_STREAMS = 4,
	SPDY_SETTINGS_CURRENT_CWND = 5,
	SPDY_SETTINGS_DOWNLOAD_RETRANS_RATE = 6,
	SPDY_SETTINGS_INITIAL_WINDOW_SIZE = 7,
	SPDY_SETTINGS_CLIENT_CERTIFICATE_VECTOR_SIZE = 8,
};
#define SPDY_SETTINGS_FLAG_PERSIST_VALUE 0x01
#define SPDY_SETTINGS_FLAG_PERSISTED 0x02

/* Flow control: every stream and the session start with this window. */
#define SPDY_DEFAULT_WINDOW 65536
#define SPDY_MAX_WINDOW 0x7fffffff
/* The largest payload a frame's 24-bit length field can carry. */
#define SPDY_MAX_LENGTH 0xffffff
/* Bytes of every frame header (control and data). */
#define SPDY_FRAME_HEADER_LEN 8

/* Limits a codec enforces on input unless told otherwise. */
#define SPDY_DEFAULT_MAX_FRAME (16u * 1024 * 1024)
#define SPDY_DEFAULT_MAX_HEADER_BLOCK (1024u * 1024)

/* error->domain of every parse error; error->code is the SPDY_RST_* status
 * to answer with (PROTOCOL_ERROR doubles as GOAWAY's). */
#define SPDY_ERROR (spdy_error_quark())
GQuark spdy_error_quark(void);

/* One header. value holds value_len bytes (NUL-terminated after them when
 * parsed); several values are separated by single NULs. When building,
 * value_len 0 means value is a C string (or NULL: empty). */
typedef struct {
	char *name;
	char *value;
	gsize value_len;
} SpdyHeader;

typedef struct {
	guint32 id;
	guint8 flags;
	guint32 value;
} SpdySetting;

typedef struct {
	SpdyType type;
	guint8 flags;
	guint32 stream_id;
	guint16 control_type; /* the wire type of a control frame; 0: DATA */
	guint32 assoc_id;     /* SYN_STREAM */
	guint8 priority;      /* SYN_STREAM: 0 (highest) .. 7 */
	guint32 status;	      /* RST_STREAM, GOAWAY */
	guint32 last_good_id; /* GOAWAY */
	guint32 delta;	      /* WINDOW_UPDATE; stream_id 0: the session */
	guint32 ping_id;      /* PING */
	SpdyHeader *headers;  /* SYN_STREAM, SYN_REPLY, HEADERS */
	gsize n_headers;
	SpdySetting *settings; /* SETTINGS */
	gsize n_settings;
	const guint8 *data; /* DATA: points into the caller's buffer */
	gsize len;
} SpdyFrame;

/* One per connection: the deflate stream for what we send and the inflate
 * stream for what we receive (each created on first use). Not locked: the
 * parse side and the put side touch disjoint state, so one reader thread
 * and one writer thread may share a codec; more than one of either needs
 * the caller's lock. Header frames must reach the wire in the order they
 * were built. */
typedef struct SpdyCodec SpdyCodec;

/* max_frame bounds the payload of any frame read (0: 16 MiB, i.e. what
 * the length field allows). */
SpdyCodec *spdy_codec_new(gsize max_frame);
/* Bound on a decompressed header block (0: 1 MiB). */
void spdy_codec_set_max_header_block(SpdyCodec *c, gsize max);
void spdy_codec_free(SpdyCodec *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SpdyCodec, spdy_codec_free)

/* One frame from buf[0..len): the bytes consumed (> 0) with *frame filled
 * (clear it with spdy_frame_clear); 0 when more bytes are needed (nothing
 * consumed); -1 with error set (error->code: the SPDY_RST_* status, and
 * frame->type/stream_id name the offending frame; stream_id 0 means the
 * session). Every error is fatal to the connection: the header
 * decompressor's state is unknown afterwards, so the codec refuses all
 * further input. Answer with GOAWAY (and RST_STREAM where a stream is
 * named), then close. */
gssize spdy_parse(SpdyCodec *c, const guint8 *buf, gsize len, SpdyFrame *frame,
		  GError **error);
void spdy_frame_clear(SpdyFrame *f);
/* The header named name (ASCII case ignored) or NULL. */
const SpdyHeader *spdy_frame_header(const SpdyFrame *f, const char *name);
/* A short name for logs: "SYN_STREAM", "DATA", ... */
const char *spdy_type_name(SpdyType type);

/* Builders append one frame to out. Stream ids are 31 bits (the top bit is
 * dropped); header names are sent lowercased and must be unique; data is at
 * most SPDY_MAX_LENGTH bytes. */
void spdy_put_syn_stream(SpdyCodec *c, GByteArray *out, guint32 stream,
			 guint32 assoc, guint8 priority, guint8 flags,
			 const SpdyHeader *h, gsize n);
void spdy_put_syn_reply(SpdyCodec *c, GByteArray *out, guint32 stream,
			guint8 flags, const SpdyHeader *h, gsize n);
void spdy_put_headers(SpdyCodec *c, GByteArray *out, guint32 stream,
		      guint8 flags, const SpdyHeader *h, gsize n);
void spdy_put_data(GByteArray *out, guint32 stream, guint8 flags,
		   const void *data, gsize len);
void spdy_put_rst_stream(GByteArray *out, guint32 stream, guint32 status);
void spdy_put_settings(GByteArray *out, guint8 flags, const SpdySetting *s,
		       gsize n);
void spdy_put_ping(GByteArray *out, guint32 id);
void spdy_put_goaway(GByteArray *out, guint32 last_good, guint32 status);
void spdy_put_window_update(GByteArray *out, guint32 stream, guint32 delta);

/* Flow-control arithmetic for the caller's windows (a window may go
 * negative after SETTINGS_INITIAL_WINDOW_SIZE shrinks it). Grow by a
 * WINDOW_UPDATE delta: FLOW_CONTROL_ERROR past 2^31-1. Consume a DATA
 * frame's length: FLOW_CONTROL_ERROR when it exceeds the window. */
gboolean spdy_window_grow(gint64 *window, guint32 delta, GError **error);
gboolean spdy_window_consume(gint64 *window, gsize len, GError **error);
