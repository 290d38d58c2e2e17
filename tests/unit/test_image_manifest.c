/* image/manifest.c, platform.c, config.c: kind detection, index and
 * manifest parsing, platform choice, image configs, and the checks that
 * reject malformed documents. JSON below is written with ' for ". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "image/manifest.h"
#include "util/error.h"

#define HA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define DA "sha256:" HA
#define DB "sha256:" HB
#define DC "sha256:" HC

#define OCI_LAYER_GZ "application/vnd.oci.image.layer.v1.tar+gzip"
#define DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

#define OCI_CONFIG_DESC                                                        \
	"'config':{'mediaType':'" IMAGE_MEDIA_OCI_CONFIG "','digest':'" DA     \
	"','size':100}"
#define OCI_MANIFEST_BODY(layers)                                              \
	"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST            \
	"'," OCI_CONFIG_DESC ",'layers':[" layers "]}"
#define LAYER(type, digest, size)                                              \
	"{'mediaType':'" type "','digest':'" digest "','size':" #size "}"

/* ' → " so JSON reads well in C. */
static char *dq(const char *s)
{
	char *r = g_strdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

static gboolean detect(const char *sq, const char *ct, ImageManifestKind *kind,
		       GError **error)
{
	g_autofree char *j = dq(sq);
	return image_manifest_detect(j, strlen(j), ct, kind, error);
}

static gboolean parse_manifest(const char *sq, const char *ct,
			       ImageManifest **out, GError **error)
{
	g_autofree char *j = dq(sq);
	return image_manifest_parse(j, strlen(j), ct, out, error);
}

static gboolean parse_index(const char *sq, ImageIndex **out, GError **error)
{
	g_autofree char *j = dq(sq);
	return image_index_parse(j, strlen(j), NULL, out, error);
}

static gboolean parse_config(const char *sq, ImageConfig **out, GError **error)
{
	g_autofree char *j = dq(sq);
	return image_config_parse(j, strlen(j), out, error);
}

static void assert_error(const GError *error, int code, const char *what,
			 const char *input)
{
	if (error == NULL)
		fail_msg("accepted: %s", input);
	if (error->domain != BERTH_ERROR || error->code != code)
		fail_msg("%s: code %d, want %d (%s)", input, error->code, code,
			 error->message);
	if (strstr(error->message, what) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", input,
			 error->message, what);
}

/* --- detection ---------------------------------------------------------- */

static void test_detect_by_media_type(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *ct;
		ImageManifestKind kind;
	} cases[] = {
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_INDEX
		 "','manifests':[]}",
		 NULL, IMAGE_MANIFEST_OCI_INDEX},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_DOCKER_LIST
		 "','manifests':[]}",
		 IMAGE_MEDIA_DOCKER_LIST, IMAGE_MANIFEST_DOCKER_LIST},
		{OCI_MANIFEST_BODY(""), "application/json",
		 IMAGE_MANIFEST_OCI_MANIFEST},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_DOCKER_MANIFEST
		 "'}",
		 IMAGE_MEDIA_DOCKER_MANIFEST "; charset=utf-8",
		 IMAGE_MANIFEST_DOCKER_MANIFEST},
		/* No mediaType: the Content-Type decides, then the shape. */
		{"{'schemaVersion':2,'config':{},'layers':[]}",
		 " Application/VND.docker.distribution.manifest.v2+JSON ",
		 IMAGE_MANIFEST_DOCKER_MANIFEST},
		{"{'schemaVersion':2,'config':{},'layers':[]}", NULL,
		 IMAGE_MANIFEST_OCI_MANIFEST},
		{"{'schemaVersion':2,'config':{},'layers':[]}",
		 "application/octet-stream", IMAGE_MANIFEST_OCI_MANIFEST},
		{"{'schemaVersion':2,'manifests':[]}", "",
		 IMAGE_MANIFEST_OCI_INDEX},
		{"{'schemaVersion':2,'manifests':[]}", IMAGE_MEDIA_DOCKER_LIST,
		 IMAGE_MANIFEST_DOCKER_LIST},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		ImageManifestKind kind = IMAGE_MANIFEST_UNKNOWN;
		g_autoptr(GError) error = NULL;
		if (!detect(cases[i].body, cases[i].ct, &kind, &error))
			fail_msg("case %zu: %s", i, error->message);
		assert_int_equal(kind, cases[i].kind);
	}
}

static void test_detect_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *ct;
		int code;
		const char *what;
	} cases[] = {
		{"{'schemaVersion':1,'name':'x','tag':'y','fsLayers':[]}", NULL,
		 BERTH_ERROR_FAILED_PRECONDITION, "schema 1"},
		{"{'schemaVersion':1}", NULL, BERTH_ERROR_FAILED_PRECONDITION,
		 "schema 1"},
		{"{'schemaVersion':2}", IMAGE_MEDIA_DOCKER_SCHEMA1_SIGNED,
		 BERTH_ERROR_FAILED_PRECONDITION, "schema 1"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_DOCKER_SCHEMA1
		 "'}",
		 NULL, BERTH_ERROR_FAILED_PRECONDITION, "schema 1"},
		{"{'mediaType':'" IMAGE_MEDIA_OCI_INDEX "','manifests':[]}",
		 NULL, BERTH_ERROR_INVALID_ARGUMENT, "schemaVersion"},
		{"{'schemaVersion':'2','manifests':[]}", NULL,
		 BERTH_ERROR_INVALID_ARGUMENT, "schemaVersion"},
		{"{'schemaVersion':3,'manifests':[]}", NULL,
		 BERTH_ERROR_INVALID_ARGUMENT, "unsupported schemaVersion 3"},
		{"{'schemaVersion':2,'mediaType':'application/vnd.oci.artifact."
		 "manifest.v1+json'}",
		 NULL, BERTH_ERROR_INVALID_ARGUMENT,
		 "unsupported manifest media type"},
		{"{'schemaVersion':2,'mediaType':7}", NULL,
		 BERTH_ERROR_INVALID_ARGUMENT,
		 "\"mediaType\" must be a string"},
		{OCI_MANIFEST_BODY(""), IMAGE_MEDIA_OCI_INDEX,
		 BERTH_ERROR_INVALID_ARGUMENT, "does not match Content-Type"},
		{"{'schemaVersion':2}", NULL, BERTH_ERROR_INVALID_ARGUMENT,
		 "neither an image index nor an image manifest"},
		{"{'schemaVersion':2,'config':{}}", NULL,
		 BERTH_ERROR_INVALID_ARGUMENT, "neither"},
		{"", NULL, BERTH_ERROR_INVALID_ARGUMENT, "not valid JSON"},
		{"{", NULL, BERTH_ERROR_INVALID_ARGUMENT, "not valid JSON"},
		{"[]", NULL, BERTH_ERROR_INVALID_ARGUMENT, "not a JSON object"},
		{"'x'", NULL, BERTH_ERROR_INVALID_ARGUMENT, "not valid JSON"},
		{"{'schemaVersion':2,'schemaVersion':2,'manifests':[]}", NULL,
		 BERTH_ERROR_INVALID_ARGUMENT, "duplicate"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		ImageManifestKind kind;
		g_autoptr(GError) error = NULL;
		assert_false(detect(cases[i].body, cases[i].ct, &kind, &error));
		assert_error(error, cases[i].code, cases[i].what,
			     cases[i].body);
	}
}

static void test_detect_size_limit(void **state)
{
	(void)state;
	gsize n = IMAGE_MANIFEST_MAX_SIZE + 1;
	g_autofree char *big = g_malloc(n);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	ImageManifestKind kind;
	g_autoptr(GError) error = NULL;
	assert_false(image_manifest_detect(big, n, NULL, &kind, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, "more than", "big");
}

static void test_accept_header(void **state)
{
	(void)state;
	const char *a = image_manifest_accept_header();
	assert_non_null(strstr(a, IMAGE_MEDIA_OCI_INDEX));
	assert_non_null(strstr(a, IMAGE_MEDIA_OCI_MANIFEST));
	assert_non_null(strstr(a, IMAGE_MEDIA_DOCKER_LIST));
	assert_non_null(strstr(a, IMAGE_MEDIA_DOCKER_MANIFEST));
	assert_null(strstr(a, "v1+prettyjws"));
	assert_null(strchr(a, '\n'));
	assert_string_equal(
		image_manifest_kind_media_type(IMAGE_MANIFEST_DOCKER_LIST),
		IMAGE_MEDIA_DOCKER_LIST);
	assert_null(image_manifest_kind_media_type(IMAGE_MANIFEST_UNKNOWN));
	assert_true(image_manifest_kind_is_index(IMAGE_MANIFEST_OCI_INDEX));
	assert_false(image_manifest_kind_is_index(IMAGE_MANIFEST_OCI_MANIFEST));
}

/* --- manifests ---------------------------------------------------------- */

static void test_manifest_oci(void **state)
{
	(void)state;
	const char *body =
		OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, DB, 1234) "," LAYER(
			"application/vnd.oci.image.layer.v1.tar+zstd", DC,
			0) "," LAYER("application/vnd.oci.image.layer.v1.tar",
				     DA,
				     9007199254740993) ","
						       "{'mediaType':'"
						       "application/"
						       "vnd.oci.image.layer."
						       "nondistributable.v1."
						       "tar+gzip','digest':'" DB
						       "','size':5,"
						       "'urls':['https://"
						       "example.com/l','http://"
						       "x/y'],"
						       "'annotations':{'a':'b'}"
						       "}");
	g_autoptr(ImageManifest) m = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_manifest(body, IMAGE_MEDIA_OCI_MANIFEST, &m, &error))
		fail_msg("%s", error->message);
	assert_int_equal(m->kind, IMAGE_MANIFEST_OCI_MANIFEST);
	assert_string_equal(m->config.media_type, IMAGE_MEDIA_OCI_CONFIG);
	assert_string_equal(m->config.digest, DA);
	assert_int_equal(m->config.size, 100);
	assert_null(m->config.urls);
	assert_int_equal(m->layers->len, 4);
	ImageLayer *l0 = m->layers->pdata[0], *l1 = m->layers->pdata[1];
	ImageLayer *l2 = m->layers->pdata[2], *l3 = m->layers->pdata[3];
	assert_int_equal(l0->compression, IMAGE_COMPRESSION_GZIP);
	assert_string_equal(l0->desc.digest, DB);
	assert_int_equal(l0->desc.size, 1234);
	assert_false(l0->non_distributable);
	assert_int_equal(l1->compression, IMAGE_COMPRESSION_ZSTD);
	assert_int_equal(l1->desc.size, 0);
	assert_int_equal(l2->compression, IMAGE_COMPRESSION_NONE);
	assert_true(l2->desc.size == 9007199254740993LL);
	assert_true(l3->non_distributable);
	assert_int_equal(l3->compression, IMAGE_COMPRESSION_GZIP);
	assert_int_equal(g_strv_length(l3->desc.urls), 2);
	assert_string_equal(l3->desc.urls[0], "https://example.com/l");
}

static void test_manifest_docker(void **state)
{
	(void)state;
	const char *body =
		"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_DOCKER_MANIFEST
		"','config':{'mediaType':'" IMAGE_MEDIA_DOCKER_CONFIG
		"','size':7023,'digest':'" DA "'},'layers':[" LAYER(
			DOCKER_LAYER, DB,
			32654) ","
			       "{'mediaType':'application/"
			       "vnd.docker.image.rootfs.foreign.diff."
			       "tar.gzip','size':1,'digest':'" DC
			       "','urls':['https://mcr.example/x']}," LAYER(
				       "application/"
				       "vnd.docker.image.rootfs.diff.tar",
				       DA, 3) "]}";
	g_autoptr(ImageManifest) m = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_manifest(body, NULL, &m, &error))
		fail_msg("%s", error->message);
	assert_int_equal(m->kind, IMAGE_MANIFEST_DOCKER_MANIFEST);
	assert_string_equal(m->config.media_type, IMAGE_MEDIA_DOCKER_CONFIG);
	assert_int_equal(m->layers->len, 3);
	ImageLayer *l0 = m->layers->pdata[0], *l1 = m->layers->pdata[1];
	ImageLayer *l2 = m->layers->pdata[2];
	assert_int_equal(l0->compression, IMAGE_COMPRESSION_GZIP);
	assert_false(l0->non_distributable);
	assert_true(l1->non_distributable);
	assert_string_equal(l1->desc.urls[0], "https://mcr.example/x");
	assert_int_equal(l2->compression, IMAGE_COMPRESSION_NONE);
}

static void test_manifest_no_layers(void **state)
{
	(void)state;
	g_autoptr(ImageManifest) m = NULL;
	assert_true(parse_manifest(OCI_MANIFEST_BODY(""), NULL, &m, NULL));
	assert_int_equal(m->layers->len, 0);
}

/* A pull gives every layer a pipe and a thread at once: capped. */
static void test_manifest_too_many_layers(void **state)
{
	(void)state;
	for (int n = IMAGE_MANIFEST_MAX_LAYERS;
	     n <= IMAGE_MANIFEST_MAX_LAYERS + 1; n++) {
		GString *layers = g_string_new(NULL);
		for (int i = 0; i < n; i++)
			g_string_append_printf(layers,
					       "%s" LAYER(OCI_LAYER_GZ, DB, 1),
					       i ? "," : "");
		g_autofree char *body =
			g_strdup_printf(OCI_MANIFEST_BODY("%s"), layers->str);
		g_string_free(layers, TRUE);
		g_autoptr(ImageManifest) m = NULL;
		g_autoptr(GError) error = NULL;
		gboolean ok = parse_manifest(body, NULL, &m, &error);
		if (n <= IMAGE_MANIFEST_MAX_LAYERS) {
			assert_true(ok);
			assert_int_equal(m->layers->len, n);
		} else {
			assert_error(error, BERTH_ERROR_INVALID_ARGUMENT,
				     "1001 layers: more than 1000 layers",
				     "1001");
		}
	}
}

static void test_manifest_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *what;
	} cases[] = {
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "','layers':[]}",
		 "missing field \"config\""},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "','config':[],'layers':[]}",
		 "\"config\" must be an object"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "'," OCI_CONFIG_DESC "}",
		 "missing field \"layers\""},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "'," OCI_CONFIG_DESC ",'layers':{}}",
		 "\"layers\" must be an array"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "','config':{'mediaType':'application/vnd.cncf.helm.config.v1+"
		 "json','digest':'" DA "','size':1},'layers':[]}",
		 "not a container image"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "','config':{'mediaType':'" IMAGE_MEDIA_OCI_CONFIG
		 "','digest':'sha256:abc','size':1},'layers':[]}",
		 "config: invalid digest"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_MANIFEST
		 "','config':{'mediaType':'" IMAGE_MEDIA_OCI_CONFIG
		 "','digest':'" DA "'},'layers':[]}",
		 "missing field \"size\""},
		{OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, DB, -1)),
		 "layers[0]: field \"size\" must not be negative"},
		{OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, DB, 1.5)),
		 "\"size\" must be an integer"},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ
				   "','digest':'" DB "','size':'12'}"),
		 "\"size\" must be an integer"},
		{OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, DB, 1) "," LAYER(
			 OCI_LAYER_GZ, "sha256:" HA "A", 1)),
		 "layers[1]: invalid digest"},
		{OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, "SHA256:" HA, 1)),
		 "invalid digest"},
		{OCI_MANIFEST_BODY("{'digest':'" DB "','size':1}"),
		 "missing field \"mediaType\""},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ "','size':1}"),
		 "missing field \"digest\""},
		{OCI_MANIFEST_BODY("'layer'"), "descriptor must be an object"},
		{OCI_MANIFEST_BODY(LAYER("application/vnd.oci.image.layer.v1."
					 "tar+gzip+encrypted",
					 DB, 1)),
		 "unsupported layer media type"},
		{OCI_MANIFEST_BODY(LAYER("tar", DB, 1)), "invalid mediaType"},
		{OCI_MANIFEST_BODY(LAYER("/x", DB, 1)), "invalid mediaType"},
		{OCI_MANIFEST_BODY(LAYER("a/b c", DB, 1)), "invalid mediaType"},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ
				   "','digest':'" DB
				   "','size':1,'urls':['ftp://x']}"),
		 "not an http(s) URL"},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ
				   "','digest':'" DB "','size':1,'urls':[1]}"),
		 "must be a string"},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ
				   "','digest':'" DB
				   "','size':1,'urls':'http://x'}"),
		 "\"urls\" must be an array"},
		{OCI_MANIFEST_BODY("{'mediaType':'" OCI_LAYER_GZ
				   "','digest':'" DB
				   "','size':1,'annotations':{'a':1}}"),
		 "value of \"a\" must be a string"},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_INDEX
		 "','manifests':[]}",
		 "got an index"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		ImageManifest *m = NULL;
		g_autoptr(GError) error = NULL;
		assert_false(parse_manifest(cases[i].body, NULL, &m, &error));
		assert_null(m);
		assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, cases[i].what,
			     cases[i].body);
		assert_true(g_str_has_prefix(error->message, "manifest"));
	}
}

/* --- indexes and platforms ---------------------------------------------- */

#define ENTRY(type, digest, platform)                                          \
	"{'mediaType':'" type "','digest':'" digest "','size':500" platform "}"
#define PLAT(os, arch) ",'platform':{'os':'" os "','architecture':'" arch "'}"
#define PLATV(os, arch, v)                                                     \
	",'platform':{'os':'" os "','architecture':'" arch "','variant':'" v   \
	"'}"
#define INDEX(entries)                                                         \
	"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_INDEX               \
	"','manifests':[" entries "]}"
#define M IMAGE_MEDIA_OCI_MANIFEST

/* 65 hex digits. */
static const char *bad_digest_index =
	INDEX(ENTRY(M, "sha256:1" HA, PLAT("linux", "amd64")));

static ImageIndex *load_index(const char *sq)
{
	ImageIndex *index = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_index(sq, &index, &error))
		fail_msg("%s", error->message);
	return index;
}

static const char *select_digest(const ImageIndex *index, const char *os,
				 const char *arch, const char *variant)
{
	const ImageIndexEntry *e =
		image_index_select(index, os, arch, variant, NULL);
	return e ? e->desc.digest : NULL;
}

#define H1                                                                     \
	"sha256:"                                                              \
	"1111111111111111111111111111111111111111111111111111111111111111"
#define H2                                                                     \
	"sha256:"                                                              \
	"2222222222222222222222222222222222222222222222222222222222222222"
#define H3                                                                     \
	"sha256:"                                                              \
	"3333333333333333333333333333333333333333333333333333333333333333"
#define H4                                                                     \
	"sha256:"                                                              \
	"4444444444444444444444444444444444444444444444444444444444444444"
#define H5                                                                     \
	"sha256:"                                                              \
	"5555555555555555555555555555555555555555555555555555555555555555"
#define H6                                                                     \
	"sha256:"                                                              \
	"6666666666666666666666666666666666666666666666666666666666666666"
#define H7                                                                     \
	"sha256:"                                                              \
	"7777777777777777777777777777777777777777777777777777777777777777"

static void test_index_parse(void **state)
{
	(void)state;
	g_autoptr(ImageIndex) index = load_index(
		"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_DOCKER_LIST
		"','manifests':[" ENTRY(
			IMAGE_MEDIA_DOCKER_MANIFEST, H1,
			PLAT("linux", "amd64")) ","
						"{'mediaType':"
						"'" IMAGE_MEDIA_DOCKER_MANIFEST
						"','digest':'" H2
						"','size':7,'platform':{'os':'"
						"linux','architecture':'arm64',"
						"'variant':'v8','os.version':'"
						"x','os.features':['y']}}]}");
	assert_int_equal(index->kind, IMAGE_MANIFEST_DOCKER_LIST);
	assert_int_equal(index->manifests->len, 2);
	ImageIndexEntry *e0 = index->manifests->pdata[0];
	ImageIndexEntry *e1 = index->manifests->pdata[1];
	assert_string_equal(e0->os, "linux");
	assert_string_equal(e0->architecture, "amd64");
	assert_null(e0->variant);
	assert_int_equal(e0->desc.size, 500);
	assert_string_equal(e1->variant, "v8");
	assert_string_equal(e1->desc.digest, H2);
}

static void test_index_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *what;
	} cases[] = {
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_INDEX "'}",
		 "missing field \"manifests\""},
		{"{'schemaVersion':2,'mediaType':'" IMAGE_MEDIA_OCI_INDEX
		 "','manifests':{}}",
		 "\"manifests\" must be an array"},
		{INDEX(ENTRY(M, H1, ",'platform':{'architecture':'amd64'}")),
		 "manifests[0]: platform: missing field \"os\""},
		{INDEX(ENTRY(M, H1, ",'platform':{'os':'linux'}")),
		 "missing field \"architecture\""},
		{INDEX(ENTRY(M, H1, ",'platform':'linux/amd64'")),
		 "\"platform\" must be an object"},
		{INDEX(ENTRY(M, H1,
			     ",'platform':{'os':'','architecture':'x'}")),
		 "empty os or architecture"},
		{INDEX(ENTRY(M, H1, PLAT("linux", "amd64")) "," ENTRY(
			 M, "sha256:12", PLAT("linux", "arm64"))),
		 "manifests[1]: invalid digest"},
		{INDEX(ENTRY(M, H1,
			     ",'platform':{'os':'linux','architecture':'arm',"
			     "'variant':7}")),
		 "\"variant\" must be a string"},
		{INDEX(ENTRY(M, H1,
			     ",'platform':{'os':'linux','architecture':'arm',"
			     "'os.features':'x'}")),
		 "\"os.features\" must be an array"},
		{OCI_MANIFEST_BODY(""), "got an image manifest"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		ImageIndex *index = NULL;
		g_autoptr(GError) error = NULL;
		assert_false(parse_index(cases[i].body, &index, &error));
		assert_null(index);
		assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, cases[i].what,
			     cases[i].body);
	}
	ImageIndex *index = NULL;
	assert_false(parse_index(bad_digest_index, &index, NULL));
}

static void test_select_basic(void **state)
{
	(void)state;
	g_autoptr(ImageIndex) index = load_index(INDEX(
		ENTRY(M, H1, PLAT("unknown", "unknown")) "," ENTRY(M, H2, PLAT("linux", "amd64")) "," ENTRY(
			M, H3,
			PLATV("linux", "arm64",
			      "v8")) "," ENTRY(M, H4,
					       PLATV("linux", "arm",
						     "v7")) "," ENTRY(M, H5,
								      PLATV("li"
									    "nu"
									    "x",
									    "ar"
									    "m",
									    "v"
									    "6")) "," ENTRY(M,
											    H6,
											    PLAT("windows",
												 "amd64")) "," ENTRY(M,
														     H7,
														     PLAT("linux",
															  "ppc64le"))));
	assert_string_equal(select_digest(index, "linux", "amd64", NULL), H2);
	assert_string_equal(select_digest(index, "linux", "x86_64", NULL), H2);
	assert_string_equal(select_digest(index, "linux", "amd64", ""), H2);
	assert_string_equal(select_digest(index, "windows", "amd64", NULL), H6);
	assert_string_equal(select_digest(index, "linux", "arm64", NULL), H3);
	assert_string_equal(select_digest(index, "linux", "arm64", "v8"), H3);
	assert_string_equal(select_digest(index, "linux", "aarch64", "8"), H3);
	assert_string_equal(select_digest(index, "linux", "arm", NULL), H4);
	assert_string_equal(select_digest(index, "linux", "arm", "v7"), H4);
	assert_string_equal(select_digest(index, "linux", "armhf", NULL), H4);
	assert_string_equal(select_digest(index, "linux", "arm", "v6"), H5);
	assert_string_equal(select_digest(index, "linux", "armel", NULL), H5);
	/* v8 32-bit arm runs v7 code. */
	assert_string_equal(select_digest(index, "linux", "arm", "v8"), H4);
	assert_string_equal(select_digest(index, "linux", "ppc64le", NULL), H7);
	assert_null(select_digest(index, "linux", "arm", "v5"));
	assert_null(select_digest(index, "linux", "arm64", "v9-custom"));
}

static void test_select_not_found_message(void **state)
{
	(void)state;
	g_autoptr(ImageIndex) index =
		load_index(INDEX(ENTRY(M, H2, PLAT("linux", "amd64")) "," ENTRY(
			M, H3, PLATV("linux", "arm64", "v8"))));
	g_autoptr(GError) error = NULL;
	assert_null(image_index_select(index, "linux", "s390x", NULL, &error));
	assert_error(error, BERTH_ERROR_NOT_FOUND,
		     "no image for linux/s390x in the index (it has: "
		     "linux/amd64, linux/arm64/v8)",
		     "s390x");
	g_clear_error(&error);
	assert_null(image_index_select(index, "linux", "arm", "v7", &error));
	assert_error(error, BERTH_ERROR_NOT_FOUND, "linux/arm/v7", "arm");
}

static void test_select_variants(void **state)
{
	(void)state;
	/* arm64 without a variant means v8. */
	g_autoptr(ImageIndex) a =
		load_index(INDEX(ENTRY(M, H1, PLAT("linux", "arm64")) "," ENTRY(
			M, H2, PLAT("linux", "amd64"))));
	assert_string_equal(select_digest(a, "linux", "arm64", "v8"), H1);
	assert_string_equal(select_digest(a, "linux", "arm64", NULL), H1);

	/* The nearest older variant wins over farther ones. */
	g_autoptr(ImageIndex) b = load_index(
		INDEX(ENTRY(M, H1, PLATV("linux", "arm", "v5")) "," ENTRY(
			M, H2, PLATV("linux", "arm", "v6"))));
	assert_string_equal(select_digest(b, "linux", "arm", NULL), H2);
	assert_string_equal(select_digest(b, "linux", "arm", "v5"), H1);

	/* amd64 microarchitecture levels. */
	g_autoptr(ImageIndex) c =
		load_index(INDEX(ENTRY(M, H1, PLAT("linux", "amd64")) "," ENTRY(
			M, H2,
			PLATV("linux", "amd64",
			      "v3")) "," ENTRY(M, H3,
					       PLATV("linux", "amd64", "v2"))));
	assert_string_equal(select_digest(c, "linux", "amd64", NULL), H1);
	assert_string_equal(select_digest(c, "linux", "amd64", "v1"), H1);
	assert_string_equal(select_digest(c, "linux", "amd64", "v2"), H3);
	assert_string_equal(select_digest(c, "linux", "amd64", "v4"), H2);

	g_autoptr(ImageIndex) d =
		load_index(INDEX(ENTRY(M, H2, PLATV("linux", "amd64", "v3"))));
	assert_null(select_digest(d, "linux", "amd64", NULL));

	/* First of equally good entries. */
	g_autoptr(ImageIndex) e =
		load_index(INDEX(ENTRY(M, H1, PLAT("linux", "amd64")) "," ENTRY(
			M, H2, PLAT("linux", "amd64"))));
	assert_string_equal(select_digest(e, "linux", "amd64", NULL), H1);
}

static void test_select_special_entries(void **state)
{
	(void)state;
	/* A lone entry without a platform is taken. */
	g_autoptr(ImageIndex) a = load_index(INDEX(ENTRY(M, H1, "")));
	assert_string_equal(select_digest(a, "linux", "amd64", NULL), H1);
	/* Two of them are ambiguous. */
	g_autoptr(ImageIndex) b =
		load_index(INDEX(ENTRY(M, H1, "") "," ENTRY(M, H2, "")));
	assert_null(select_digest(b, "linux", "amd64", NULL));
	/* Nested indexes and unknown types are skipped. */
	g_autoptr(ImageIndex) c = load_index(INDEX(
		ENTRY(IMAGE_MEDIA_OCI_INDEX, H1, PLAT("linux", "amd64")) "," ENTRY(
			"application/vnd.in-toto+json", H2,
			PLAT("linux",
			     "amd64")) "," ENTRY(IMAGE_MEDIA_DOCKER_MANIFEST,
						 H3, PLAT("linux", "amd64"))));
	assert_string_equal(select_digest(c, "linux", "amd64", NULL), H3);
	/* Empty index. */
	g_autoptr(ImageIndex) d = load_index(INDEX(""));
	g_autoptr(GError) error = NULL;
	assert_null(image_index_select(d, "linux", "amd64", NULL, &error));
	assert_error(error, BERTH_ERROR_NOT_FOUND, "(it has: none)", "empty");
}

static void test_platform_normalize(void **state)
{
	(void)state;
	static const struct {
		const char *arch, *variant, *n_arch, *n_variant;
	} cases[] = {
		{"amd64", NULL, "amd64", "v1"},
		{"x86_64", NULL, "amd64", "v1"},
		{"x86-64", "v3", "amd64", "v3"},
		{"aarch64", NULL, "arm64", "v8"},
		{"arm64", "", "arm64", "v8"},
		{"arm64", "8", "arm64", "v8"},
		{"arm", NULL, "arm", "v7"},
		{"arm", "6", "arm", "v6"},
		{"armhf", NULL, "arm", "v7"},
		{"armel", NULL, "arm", "v6"},
		{"i686", NULL, "386", NULL},
		{"s390x", NULL, "s390x", NULL},
		{"riscv64", "rva22", "riscv64", "rva22"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *os, *arch, *variant;
		image_platform_normalize("linux", cases[i].arch,
					 cases[i].variant, &os, &arch,
					 &variant);
		assert_string_equal(os, "linux");
		assert_string_equal(arch, cases[i].n_arch);
		if (cases[i].n_variant)
			assert_string_equal(variant, cases[i].n_variant);
		else
			assert_null(variant);
	}
	const char *os, *arch, *variant;
	image_platform_host(&os, &arch, &variant);
	assert_string_equal(os, "linux");
#if defined(__x86_64__)
	assert_string_equal(arch, "amd64");
	assert_string_equal(variant, "v1");
#endif
}

/* --- configs ------------------------------------------------------------ */

static const char *full_config =
	"{'created':'2024-01-02T03:04:05Z','architecture':'amd64','os':"
	"'linux','config':{'User':'app','Env':['PATH=/bin','A=b=c','EMPTY='],"
	"'Entrypoint':['/bin/sh','-c'],'Cmd':['echo hi'],'WorkingDir':'/srv',"
	"'StopSignal':'SIGINT','Labels':{'k':'v','org.x':''},'ExposedPorts':"
	"{'8080/tcp':{},'53/udp':{},'80':{},'9000-9010/sctp':{}},'Volumes':"
	"{'/data':{},'/cache':{}}},'rootfs':{'type':'layers','diff_ids':['" DA
	"','" DB "']},'history':[{'created':'2024-01-02T03:04:05Z',"
	"'created_by':'x','empty_layer':true},{'comment':'c'},{}]}";

static void test_config_full(void **state)
{
	(void)state;
	g_autoptr(ImageConfig) c = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_config(full_config, &c, &error))
		fail_msg("%s", error->message);
	assert_string_equal(c->architecture, "amd64");
	assert_string_equal(c->os, "linux");
	assert_null(c->variant);
	assert_string_equal(c->created, "2024-01-02T03:04:05Z");
	assert_int_equal(c->created_unix, 1704164645);
	assert_string_equal(c->user, "app");
	assert_int_equal(g_strv_length(c->env), 3);
	assert_string_equal(c->env[1], "A=b=c");
	assert_int_equal(g_strv_length(c->entrypoint), 2);
	assert_string_equal(c->cmd[0], "echo hi");
	assert_string_equal(c->working_dir, "/srv");
	assert_string_equal(c->stop_signal, "SIGINT");
	assert_int_equal(g_hash_table_size(c->labels), 2);
	assert_string_equal(g_hash_table_lookup(c->labels, "k"), "v");
	assert_string_equal(g_hash_table_lookup(c->labels, "org.x"), "");
	assert_int_equal(g_strv_length(c->exposed_ports), 4);
	assert_string_equal(c->exposed_ports[0], "53/udp");
	assert_string_equal(c->exposed_ports[1], "80");
	assert_string_equal(c->exposed_ports[2], "8080/tcp");
	assert_string_equal(c->volumes[0], "/cache");
	assert_string_equal(c->volumes[1], "/data");
	assert_int_equal(g_strv_length(c->diff_ids), 2);
	assert_string_equal(c->diff_ids[1], DB);
	assert_int_equal(c->history_count, 3);
}

static void test_config_minimal(void **state)
{
	(void)state;
	g_autoptr(ImageConfig) c = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_config("{'architecture':'arm64','variant':'v8','os':"
			  "'linux','rootfs':{'type':'layers','diff_ids':[]}}",
			  &c, &error))
		fail_msg("%s", error->message);
	assert_string_equal(c->variant, "v8");
	assert_null(c->created);
	assert_int_equal(c->created_unix, 0);
	assert_null(c->user);
	assert_null(c->working_dir);
	assert_null(c->stop_signal);
	assert_non_null(c->env);
	assert_null(c->env[0]);
	assert_null(c->entrypoint[0]);
	assert_null(c->cmd[0]);
	assert_int_equal(g_hash_table_size(c->labels), 0);
	assert_null(c->exposed_ports[0]);
	assert_null(c->volumes[0]);
	assert_null(c->diff_ids[0]);
	assert_int_equal(c->history_count, 0);
}

/* Docker writes nulls and empty strings for unset fields. */
static void test_config_docker_nulls(void **state)
{
	(void)state;
	g_autoptr(ImageConfig) c = NULL;
	g_autoptr(GError) error = NULL;
	if (!parse_config("{'architecture':'amd64','os':'linux','created':"
			  "'2023-05-01T10:00:00.123456789+02:00','config':{"
			  "'User':'','Env':null,'Entrypoint':null,'Cmd':"
			  "['sh'],'WorkingDir':'','Labels':null,'OnBuild':"
			  "null,'ExposedPorts':null,'Volumes':null},"
			  "'container_config':{'Hostname':'x'},'rootfs':{"
			  "'type':'layers','diff_ids':['" DC "']},'history':"
			  "null}",
			  &c, &error))
		fail_msg("%s", error->message);
	assert_null(c->user);
	assert_null(c->working_dir);
	assert_null(c->env[0]);
	assert_string_equal(c->cmd[0], "sh");
	assert_int_equal(c->created_unix, 1682928000);
	g_autoptr(ImageConfig) n = NULL;
	assert_true(parse_config("{'architecture':'amd64','os':'linux',"
				 "'config':null,'rootfs':{'type':'layers',"
				 "'diff_ids':['" DC "']}}",
				 &n, NULL));
}

#define CFG(inner)                                                             \
	"{'architecture':'amd64','os':'linux','config':{" inner "},"           \
	"'rootfs':{'type':'layers','diff_ids':[]}}"
#define ROOTFS(inner) "{'architecture':'amd64','os':'linux','rootfs':" inner "}"

static void test_config_errors(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		const char *what;
	} cases[] = {
		{"{'os':'linux','rootfs':{'type':'layers','diff_ids':[]}}",
		 "missing field \"architecture\""},
		{"{'architecture':'amd64','os':3,'rootfs':{}}",
		 "\"os\" must be a string"},
		{"{'architecture':'','os':'linux','rootfs':{}}",
		 "empty architecture"},
		{"{'architecture':'amd64','os':'linux'}",
		 "missing field \"rootfs\""},
		{ROOTFS("[]"), "\"rootfs\" must be an object"},
		{ROOTFS("{'diff_ids':[]}"), "rootfs: missing field \"type\""},
		{ROOTFS("{'type':'tarballs','diff_ids':[]}"),
		 "is not \"layers\""},
		{ROOTFS("{'type':'layers','diff_ids':'x'}"),
		 "\"diff_ids\" must be an array"},
		{ROOTFS("{'type':'layers','diff_ids':['" DA "','sha256:x']}"),
		 "rootfs: diff_ids[1]: invalid digest"},
		{ROOTFS("{'type':'layers','diff_ids':[7]}"),
		 "must be a string"},
		{CFG("'Env':['PATH=/bin',3]"), "config: field \"Env\""},
		{CFG("'Env':['NOEQUALS']"), "is not NAME=value"},
		{CFG("'Env':['=x']"), "is not NAME=value"},
		{CFG("'Cmd':'sh'"), "\"Cmd\" must be an array"},
		{CFG("'Entrypoint':{}"), "\"Entrypoint\" must be an array"},
		{CFG("'User':1000"), "\"User\" must be a string"},
		{CFG("'WorkingDir':[]"), "\"WorkingDir\" must be a string"},
		{CFG("'StopSignal':15"), "\"StopSignal\" must be a string"},
		{CFG("'Labels':{'a':1}"), "value of \"a\" must be a string"},
		{CFG("'Labels':['a']"), "\"Labels\" must be an object"},
		{CFG("'ExposedPorts':['80/tcp']"),
		 "\"ExposedPorts\" must be an object"},
		{CFG("'ExposedPorts':{'http':{}}"), "invalid port \"http\""},
		{CFG("'ExposedPorts':{'0/tcp':{}}"), "invalid port"},
		{CFG("'ExposedPorts':{'65536':{}}"), "invalid port"},
		{CFG("'ExposedPorts':{'80/icmp':{}}"), "invalid port"},
		{CFG("'ExposedPorts':{'80-/tcp':{}}"), "invalid port"},
		{CFG("'ExposedPorts':{'/tcp':{}}"), "invalid port"},
		{CFG("'Volumes':{'data':{}}"), "not an absolute path"},
		{CFG("'Volumes':[]"), "\"Volumes\" must be an object"},
		{"{'architecture':'amd64','os':'linux','config':'x',"
		 "'rootfs':{'type':'layers','diff_ids':[]}}",
		 "\"config\" must be an object"},
		{"{'architecture':'amd64','os':'linux','created':'yesterday',"
		 "'rootfs':{'type':'layers','diff_ids':[]}}",
		 "not an RFC 3339 time"},
		{"{'architecture':'amd64','os':'linux','created':"
		 "'2024-01-02T03:04:05','rootfs':{'type':'layers','diff_ids':"
		 "[]}}",
		 "not an RFC 3339 time"},
		{"{'architecture':'amd64','os':'linux','rootfs':{'type':"
		 "'layers','diff_ids':[]},'history':{}}",
		 "\"history\" must be an array"},
		{"{'architecture':'amd64','os':'linux','rootfs':{'type':"
		 "'layers','diff_ids':[]},'history':[{},1]}",
		 "history[1]: must be an object"},
		{"{'architecture':'amd64','os':'linux','rootfs':{'type':"
		 "'layers','diff_ids':[]},'history':[{'empty_layer':'yes'}]}",
		 "\"empty_layer\" must be a boolean"},
		{"{'architecture':'amd64','os':'linux','rootfs':{'type':"
		 "'layers','diff_ids':[]},'history':[{'created_by':[]}]}",
		 "\"created_by\" must be a string"},
		{"[1]", "not a JSON object"},
		{"{'architecture':'amd64','architecture':'amd64'}",
		 "duplicate"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		ImageConfig *c = NULL;
		g_autoptr(GError) error = NULL;
		assert_false(parse_config(cases[i].body, &c, &error));
		assert_null(c);
		assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, cases[i].what,
			     cases[i].body);
		assert_true(g_str_has_prefix(error->message, "image config"));
	}
}

static void test_config_nul_in_string(void **state)
{
	(void)state;
	const char *j = "{\"architecture\":\"amd\\u0000\",\"os\":\"linux\","
			"\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
	ImageConfig *c = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(image_config_parse(j, strlen(j), &c, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT, "NUL", j);
}

static void test_check_config(void **state)
{
	(void)state;
	g_autoptr(ImageManifest) m = NULL;
	g_autoptr(ImageConfig) c = NULL;
	g_autoptr(ImageConfig) one = NULL;
	assert_true(parse_manifest(
		OCI_MANIFEST_BODY(LAYER(OCI_LAYER_GZ, DB,
					1) "," LAYER(OCI_LAYER_GZ, DC, 2)),
		NULL, &m, NULL));
	assert_true(parse_config(full_config, &c, NULL));
	assert_true(image_manifest_check_config(m, c, NULL));
	assert_true(parse_config(
		ROOTFS("{'type':'layers','diff_ids':['" DA "']}"), &one, NULL));
	g_autoptr(GError) error = NULL;
	assert_false(image_manifest_check_config(m, one, &error));
	assert_error(error, BERTH_ERROR_INVALID_ARGUMENT,
		     "manifest has 2 layers but its config lists 1 diff_ids",
		     "mismatch");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_by_media_type),
		cmocka_unit_test(test_detect_errors),
		cmocka_unit_test(test_detect_size_limit),
		cmocka_unit_test(test_accept_header),
		cmocka_unit_test(test_manifest_oci),
		cmocka_unit_test(test_manifest_docker),
		cmocka_unit_test(test_manifest_no_layers),
		cmocka_unit_test(test_manifest_too_many_layers),
		cmocka_unit_test(test_manifest_errors),
		cmocka_unit_test(test_index_parse),
		cmocka_unit_test(test_index_errors),
		cmocka_unit_test(test_select_basic),
		cmocka_unit_test(test_select_not_found_message),
		cmocka_unit_test(test_select_variants),
		cmocka_unit_test(test_select_special_entries),
		cmocka_unit_test(test_platform_normalize),
		cmocka_unit_test(test_config_full),
		cmocka_unit_test(test_config_minimal),
		cmocka_unit_test(test_config_docker_nulls),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_nul_in_string),
		cmocka_unit_test(test_check_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
