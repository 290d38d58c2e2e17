/* JSON <-> protobuf-c messages by reflection over the generated
 * descriptors, so every CRI message maps without per-type code.
 *  - Reading (config files): crictl's format, i.e. the message in JSON with
 *    proto field names; camelCase is accepted too, enums as numbers or
 *    names, 64-bit integers as numbers or strings, maps as objects, bytes as
 *    their text (upstream CRI has strings there). Unknown keys are ignored, as
 * crictl does.
 *  - Writing (inspect, -o json): the proto3 JSON mapping crictl prints
 *    (jsonpb with defaults emitted): lowerCamelCase names, enums by name,
 *    64-bit integers as strings, unset messages as null,
 *    bytes as text when UTF-8, else base64. */
#pragma once

#include <glib.h>
#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include "util/jsonutil.h"

/* A new message (free with protobuf_c_message_free_unpacked) or NULL with
 * INVALID_ARGUMENT naming the offending field path. */
ProtobufCMessage *ctl_pbjson_parse(const ProtobufCMessageDescriptor *desc,
				   json_t *json, GError **error);
/* Fill an initialised message in place (fields present in json only). */
gboolean ctl_pbjson_fill(ProtobufCMessage *msg, json_t *json, GError **error);
ProtobufCMessage *ctl_pbjson_parse_file(const ProtobufCMessageDescriptor *desc,
					const char *path, GError **error);

json_t *ctl_pbjson_dump(const ProtobufCMessage *msg);

/* "log_directory" -> "logDirectory" (the proto3 JSON name). */
char *ctl_pbjson_camel(const char *name);
/* Does a JSON key name this proto field? Case and underscores are
 * ignored: "log_directory", "logDirectory", "LogDirectory" all match. */
gboolean ctl_pbjson_key_matches(const char *key, const char *field);
