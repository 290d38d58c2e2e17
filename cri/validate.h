/* Generic request checks that hold for every CRI message. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

/* Every string field, at any depth, must be valid UTF-8 (protobuf says so;
 * protobuf-c does not check). INVALID_ARGUMENT names the field path. */
gboolean cri_validate_utf8(const ProtobufCMessage *msg, GError **error);
