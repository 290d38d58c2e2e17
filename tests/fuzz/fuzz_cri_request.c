/* Fuzz target: a CRI request as berthd decodes it (cri/core.c): the first
 * input byte picks one of the 41 RPCs, the rest is unpacked as its request
 * message with protobuf-c and checked by cri_validate_utf8. Then the pure
 * checks berth runs on request fields before it acts (image references and
 * credentials of PullImage, hostname and sysctls of RunPodSandbox); nothing
 * with side effects runs. A message that unpacked must pack and unpack
 * again to the same bytes. */
#include "api.pb-c.h"
#include "cri/validate.h"
#include "image/auth.h"
#include "image/ref.h"
#include "sandbox/pod/dns.h"
#include "sandbox/pod/sysctl.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

#include <string.h>

static const ProtobufCServiceDescriptor *const services[] = {
	&runtime__v1__runtime_service__descriptor,
	&runtime__v1__image_service__descriptor,
};

static const ProtobufCMessageDescriptor *request_type(guint8 pick)
{
	guint n = 0;
	for (guint i = 0; i < G_N_ELEMENTS(services); i++)
		n += services[i]->n_methods;
	guint k = pick % n;
	for (guint i = 0; i < G_N_ELEMENTS(services); i++) {
		if (k < services[i]->n_methods)
			return services[i]->methods[k].input;
		k -= services[i]->n_methods;
	}
	g_assert_not_reached();
}

static void check_image(const char *name)
{
	if (name == NULL)
		return;
	g_autofree char *id = image_ref_parse_id(name);
	g_autoptr(ImageRef) ref = NULL;
	g_autoptr(GError) error = NULL;
	if (id == NULL && !image_ref_parse(name, &ref, &error))
		fuzz_check(error != NULL);
}

static const char *spec_image(const Runtime__V1__ImageSpec *s)
{
	return s != NULL ? s->image : NULL;
}

static void check_pull(const Runtime__V1__PullImageRequest *r)
{
	check_image(spec_image(r->image));
	if (r->auth == NULL)
		return;
	const Runtime__V1__AuthConfig *a = r->auth;
	AuthConfig config = {a->username,	a->password,
			     a->auth,		a->server_address,
			     a->identity_token, a->registry_token};
	g_autoptr(GError) error = NULL;
	g_autoptr(AuthCredentials) c =
		auth_credentials_from_config(&config, &error);
	fuzz_check(c != NULL || error == NULL || error->domain == BERTH_ERROR);
	g_autofree char *key = auth_normalize_key(a->server_address);
	fuzz_check(key != NULL);
}

static void check_pod(const Runtime__V1__RunPodSandboxRequest *r)
{
	const Runtime__V1__PodSandboxConfig *c = r->config;
	if (c == NULL)
		return;
	g_autoptr(GError) error = NULL;
	(void)pod_hostname_check(c->hostname, &error);
	if (c->linux == NULL)
		return;
	for (size_t i = 0; i < c->linux->n_sysctls; i++) {
		const Runtime__V1__LinuxPodSandboxConfig__SysctlsEntry *kv =
			c->linux->sysctls[i];
		g_clear_error(&error);
		(void)pod_sysctl_check(kv->key, kv->value, FALSE, FALSE,
				       &error);
		g_clear_error(&error);
		g_autofree char *path = pod_sysctl_path(kv->key, &error);
		fuzz_check((path == NULL) == (error != NULL));
	}
}

static void check_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	if (d == &runtime__v1__pull_image_request__descriptor) {
		check_pull((const Runtime__V1__PullImageRequest *)m);
	} else if (d == &runtime__v1__image_status_request__descriptor) {
		const Runtime__V1__ImageStatusRequest *r = (const void *)m;
		check_image(spec_image(r->image));
	} else if (d == &runtime__v1__remove_image_request__descriptor) {
		const Runtime__V1__RemoveImageRequest *r = (const void *)m;
		check_image(spec_image(r->image));
	} else if (d == &runtime__v1__run_pod_sandbox_request__descriptor) {
		check_pod((const Runtime__V1__RunPodSandboxRequest *)m);
	}
}

/* Unknown fields at any depth. */
static gboolean has_unknown(const ProtobufCMessage *m)
{
	if (m->n_unknown_fields > 0)
		return TRUE;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m + f->offset;
		size_t n = 1;
		const ProtobufCMessage *const *items =
			(const ProtobufCMessage *const *)base;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			n = *(const size_t *)((const char *)m +
					      f->quantifier_offset);
			items = *(const ProtobufCMessage *const *const *)base;
		}
		for (size_t k = 0; k < n; k++) {
			if (items[k] != NULL && has_unknown(items[k]))
				return TRUE;
		}
	}
	return FALSE;
}

/* pack(unpack(x)) is a fixed point after one round. Not for messages with
 * unknown fields: libprotobuf-c 1.4.1 takes an overlong-encoded tag of
 * field number 0 as an unknown field and packs it back as a tag it then
 * refuses (docs/testing.md). */
static void check_repack(const ProtobufCMessage *m)
{
	if (has_unknown(m))
		return;
	gsize n = protobuf_c_message_get_packed_size(m);
	g_autofree guint8 *buf = g_malloc(n + 1);
	fuzz_check(protobuf_c_message_pack(m, buf) == n);
	ProtobufCMessage *again =
		protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
	fuzz_check(again != NULL);
	gsize n2 = protobuf_c_message_get_packed_size(again);
	g_autofree guint8 *buf2 = g_malloc(n2 + 1);
	fuzz_check(protobuf_c_message_pack(again, buf2) == n2);
	fuzz_check(n2 == n && memcmp(buf, buf2, n) == 0);
	protobuf_c_message_free_unpacked(again, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const ProtobufCMessageDescriptor *in = request_type(data[0]);
	ProtobufCMessage *m =
		protobuf_c_message_unpack(in, NULL, size - 1, data + 1);
	if (m == NULL)
		return 0;
	g_autoptr(GError) error = NULL;
	if (cri_validate_utf8(m, &error)) {
		check_fields(m);
		check_repack(m);
	} else {
		fuzz_check(error->domain == BERTH_ERROR &&
			   error->code == BERTH_ERROR_INVALID_ARGUMENT);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
