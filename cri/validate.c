/* Walks an unpacked message through its descriptor and checks strings. */
#include "cri/validate.h"
#include "util/error.h"

#define MAX_DEPTH 32

static gboolean check_message(const ProtobufCMessage *msg, GString *path,
			      int depth, GError **error);

static gboolean check_value(const ProtobufCFieldDescriptor *f,
			    const void *member, GString *path, int depth,
			    GError **error)
{
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(const char *const *)member;
		if (s != NULL && !g_utf8_validate(s, -1, NULL))
			return berth_throw(error, INVALID_ARGUMENT,
					   "field %s is not valid UTF-8",
					   path->str);
		return TRUE;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *sub =
			*(const ProtobufCMessage *const *)member;
		return sub == NULL ||
		       check_message(sub, path, depth + 1, error);
	}
	return TRUE;
}

static gboolean check_message(const ProtobufCMessage *msg, GString *path,
			      int depth, GError **error)
{
	if (depth > MAX_DEPTH)
		return berth_throw(error, INVALID_ARGUMENT,
				   "message nested too deeply at %s",
				   path->str);
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		gsize len = path->len;
		if (len > 0)
			g_string_append_c(path, '.');
		g_string_append(path, f->name);
		const char *base = (const char *)msg + f->offset;
		gboolean ok = TRUE;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg +
						     f->quantifier_offset);
			const void *const *items = *(const void *const *)base;
			for (size_t k = 0; ok && k < n; k++)
				ok = check_value(f, &items[k], path, depth,
						 error);
		} else {
			ok = check_value(f, base, path, depth, error);
		}
		g_string_truncate(path, len);
		if (!ok)
			return FALSE;
	}
	return TRUE;
}

gboolean cri_validate_utf8(const ProtobufCMessage *msg, GError **error)
{
	g_autoptr(GString) path = g_string_new(NULL);
	return check_message(msg, path, 0, error);
}
