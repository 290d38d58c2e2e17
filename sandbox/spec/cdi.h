/* CDI (Container Device Interface): spec files in the configured dirs,
 * device names resolved against them, and their container edits applied
 * to an OCI runtime spec. Knows nothing of CRI messages or containers. */
#pragma once

#include <glib.h>
#include <jansson.h>

/* The annotation prefix kubelet's device plugins (and CRI-O, containerd)
 * use to ask for CDI devices: "cdi.k8s.io/<key>": "v.com/c=a,v.com/c=b". */
#define CDI_ANNOTATION_PREFIX "cdi.k8s.io/"

/* --- names ---------------------------------------------------------------- */

/* Split "vendor.com/class=name" and check each part as the CDI spec does.
 * INVALID_ARGUMENT naming the device and the part at fault. Any out
 * argument may be NULL. */
gboolean cdi_parse_name(const char *name, char **vendor, char **class_,
			char **device, GError **error);

/* The CDI devices a container asks for: the CRI list (CDI_devices, in its
 * order), then the values of the cdi.k8s.io/ annotations (keys in byte
 * order, each value's names in their order), first occurrence kept.
 * annotations holds KeyValue* (NULL: none). INVALID_ARGUMENT naming the
 * annotation (or the list) for a name that is not fully qualified. */
char **cdi_device_names(const char *const *requested,
			const GPtrArray *annotations, GError **error);

/* --- spec files ----------------------------------------------------------- */

typedef struct CdiSpec CdiSpec;

/* Parse and check one spec document: YAML when yaml is TRUE (libyaml),
 * else JSON (jansson). path only names the document in messages.
 * INVALID_ARGUMENT "<path>: <field>: <cause>" for anything the CDI spec
 * (cdiVersion 0.1.0 to 1.1.0) does not allow, unknown fields included. */
CdiSpec *cdi_spec_parse(const char *data, gsize len, const char *path,
			gboolean yaml, GError **error);
/* Read a spec file; *.yaml is YAML, anything else JSON. */
CdiSpec *cdi_spec_load(const char *path, GError **error);
void cdi_spec_free(CdiSpec *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CdiSpec, cdi_spec_free)

const char *cdi_spec_kind(const CdiSpec *s); /* "vendor.com/class" */
const char *cdi_spec_version(const CdiSpec *s);
/* The spec's device names, in file order (NULL-terminated, owned by s). */
const char *const *cdi_spec_devices(const CdiSpec *s);

/* --- registry ------------------------------------------------------------- */

typedef struct CdiRegistry CdiRegistry;

/* A registry over dirs, lowest priority first (a later dir's definition of
 * a device wins; the same device twice in one dir is a conflict). Reads
 * nothing yet: every cdi_resolve re-checks the dirs and files by stat and
 * reparses only what changed. dirs NULL: /etc/cdi, /var/run/cdi; empty:
 * none, every device is unknown. Safe to share between threads. */
CdiRegistry *cdi_registry_new(const char *const *dirs);
void cdi_registry_free(CdiRegistry *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CdiRegistry, cdi_registry_free)

/* What resolving gave: the container edits to apply, in order (each spec's
 * spec-wide edits once, before its first device's), with their origin. */
typedef struct CdiEdits CdiEdits;
void cdi_edits_free(CdiEdits *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CdiEdits, cdi_edits_free)
/* The resolved device names, de-duplicated, in request order. */
const char *const *cdi_edits_devices(const CdiEdits *e);

/* Resolve fully qualified names (NULL or empty: nothing, no disk access).
 * INVALID_ARGUMENT for a malformed name; NOT_FOUND naming the device and
 * the dirs searched when no spec defines it; FAILED_PRECONDITION naming
 * the file(s) when a spec that could define it does not parse, or when two
 * specs in one dir define it. */
gboolean cdi_resolve(CdiRegistry *r, const char *const *names, CdiEdits **out,
		     GError **error);

/* Apply the edits to an OCI runtime spec (a config.json object): process
 * env (a name already set is replaced), linux.devices with their
 * linux.resources.devices allow rules (type, major and minor read from the
 * host node when not given), mounts (then ordered by depth), hooks by
 * name, process.user.additionalGids, linux.intelRdt, linux.netDevices.
 * FAILED_PRECONDITION naming the device and file when a host device node
 * is missing or of another type. On error oci_spec is left as it was. */
gboolean cdi_apply(const CdiEdits *e, json_t *oci_spec, GError **error);
