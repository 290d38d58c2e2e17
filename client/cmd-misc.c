/* Runtime and image commands: version, info, stats, images, pull,
 * inspecti. */
#include "client/ctl.h"
#include "client/pbjson.h"
#include "util/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int ctl_cmd_version(CtlCtx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl_command_find("version"),
				 "no arguments expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	req.version = "v1";
	Runtime__V1__VersionResponse *r =
		ctl_call(ctx, "Version", &req, &error);
	if (r == NULL)
		return ctl_fail(error);
	printf("Version:  %s\nRuntimeName:  %s\nRuntimeVersion:  %s\n"
	       "RuntimeApiVersion:  %s\n",
	       r->version, r->runtime_name, r->runtime_version,
	       r->runtime_api_version);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

int ctl_cmd_info(CtlCtx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage(ctl_command_find("info"),
				 "no arguments expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__StatusRequest req = RUNTIME__V1__STATUS_REQUEST__INIT;
	req.verbose = TRUE;
	ProtobufCMessage *r = ctl_call(ctx, "Status", &req, &error);
	if (r == NULL)
		return ctl_fail(error);
	ctl_print_status_info(r, "status", NULL);
	protobuf_c_message_free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

static Runtime__V1__ListContainerStatsResponse *
list_stats(CtlCtx *ctx, const char *id, GError **error)
{
	Runtime__V1__ListContainerStatsRequest req =
		RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT;
	Runtime__V1__ContainerStatsFilter filter =
		RUNTIME__V1__CONTAINER_STATS_FILTER__INIT;
	filter.id = (char *)(id ? id : "");
	req.filter = &filter;
	return ctl_call(ctx, "ListContainerStats", &req, error);
}

static guint64 cpu_ns(Runtime__V1__ContainerStats *s, gint64 *ts)
{
	if (s->cpu == NULL || s->cpu->usage_core_nano_seconds == NULL)
		return 0;
	*ts = s->cpu->timestamp;
	return s->cpu->usage_core_nano_seconds->value;
}

static double cpu_percent(Runtime__V1__ContainerStats *now,
			  Runtime__V1__ListContainerStatsResponse *before)
{
	for (size_t i = 0; before != NULL && i < before->n_stats; i++) {
		Runtime__V1__ContainerStats *b = before->stats[i];
		if (b->attributes == NULL || now->attributes == NULL ||
		    strcmp(b->attributes->id, now->attributes->id) != 0)
			continue;
		gint64 t0 = 0, t1 = 0;
		guint64 c0 = cpu_ns(b, &t0), c1 = cpu_ns(now, &t1);
		if (t1 <= t0 || c1 < c0)
			return 0;
		return (double)(c1 - c0) / (double)(t1 - t0) * 100.0;
	}
	return 0;
}

int ctl_cmd_stats(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("stats");
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"id", required_argument, NULL, 'i'},
		{NULL, 0, NULL, 0},
	};
	const char *output = "table", *idarg = NULL;
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+o:", opts, NULL)) != -1) {
		if (c == 'o')
			output = optarg;
		else if (c == 'i')
			idarg = optarg;
		else
			return ctl_usage(self, "bad flag");
	}
	if (optind < argc)
		idarg = argv[optind++];
	if (optind != argc)
		return ctl_usage(self, "at most one container id expected");
	g_autoptr(GError) error = NULL;
	g_autofree char *id = NULL;
	if (idarg != NULL &&
	    (id = ctl_resolve_container(ctx, idarg, &error)) == NULL)
		return ctl_fail(error);
	Runtime__V1__ListContainerStatsResponse *first =
		list_stats(ctx, id, &error);
	if (first == NULL)
		return ctl_fail(error);
	if (strcmp(output, "json") == 0) {
		json_t *j = ctl_pbjson_dump(&first->base);
		ctl_print_json(j);
		json_decref(j);
		protobuf_c_message_free_unpacked(&first->base, NULL);
		return CTL_EXIT_OK;
	}
	/* CPU % needs two samples; crictl takes them a second apart. */
	g_usleep(G_USEC_PER_SEC);
	Runtime__V1__ListContainerStatsResponse *r =
		list_stats(ctx, id, &error);
	if (r == NULL) {
		protobuf_c_message_free_unpacked(&first->base, NULL);
		return ctl_fail(error);
	}
	g_autoptr(CtlTable) t = ctl_table_new();
	ctl_table_row(t, "CONTAINER", "CPU %", "MEM", "DISK", "INODES", NULL);
	for (size_t i = 0; i < r->n_stats; i++) {
		Runtime__V1__ContainerStats *s = r->stats[i];
		g_autofree char *cid =
			g_strndup(s->attributes ? s->attributes->id : "", 13);
		g_autofree char *cpu =
			g_strdup_printf("%.2f", cpu_percent(s, first));
		guint64 mem = s->memory && s->memory->working_set_bytes
				      ? s->memory->working_set_bytes->value
				      : 0;
		guint64 disk = 0, inodes = 0;
		if (s->writable_layer && s->writable_layer->used_bytes)
			disk = s->writable_layer->used_bytes->value;
		if (s->writable_layer && s->writable_layer->inodes_used)
			inodes = s->writable_layer->inodes_used->value;
		g_autofree char *m = ctl_human_size(mem);
		g_autofree char *d = ctl_human_size(disk);
		g_autofree char *n =
			g_strdup_printf("%" G_GUINT64_FORMAT, inodes);
		ctl_table_row(t, cid, cpu, m, d, n, NULL);
	}
	ctl_table_print(t, stdout);
	protobuf_c_message_free_unpacked(&first->base, NULL);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

/* "repo:tag" -> ("repo", "tag"); a ':' inside the host part is no tag. */
static void split_tag(const char *ref, char **repo, char **tag)
{
	const char *colon = strrchr(ref, ':');
	if (colon == NULL || strchr(colon, '/') != NULL) {
		*repo = g_strdup(ref);
		*tag = g_strdup("<none>");
		return;
	}
	*repo = g_strndup(ref, (gsize)(colon - ref));
	*tag = g_strdup(colon + 1);
}

int ctl_cmd_images(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("images");
	static const struct option opts[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	gboolean quiet = FALSE;
	const char *output = "table";
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+qo:", opts, NULL)) != -1) {
		if (c == 'q')
			quiet = TRUE;
		else if (c == 'o')
			output = optarg;
		else
			return ctl_usage(self, "bad flag");
	}
	if (argc - optind > 1)
		return ctl_usage(self, "at most one image expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__ListImagesRequest req =
		RUNTIME__V1__LIST_IMAGES_REQUEST__INIT;
	Runtime__V1__ImageFilter filter = RUNTIME__V1__IMAGE_FILTER__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	if (optind < argc) {
		spec.image = argv[optind];
		filter.image = &spec;
		req.filter = &filter;
	}
	Runtime__V1__ListImagesResponse *r =
		ctl_call(ctx, "ListImages", &req, &error);
	if (r == NULL)
		return ctl_fail(error);
	if (strcmp(output, "json") == 0) {
		json_t *j = ctl_pbjson_dump(&r->base);
		ctl_print_json(j);
		json_decref(j);
	} else if (quiet) {
		for (size_t i = 0; i < r->n_images; i++)
			printf("%s\n", r->images[i]->id);
	} else {
		g_autoptr(CtlTable) t = ctl_table_new();
		ctl_table_row(t, "IMAGE", "TAG", "IMAGE ID", "SIZE", NULL);
		for (size_t i = 0; i < r->n_images; i++) {
			Runtime__V1__Image *im = r->images[i];
			const char *id = im->id;
			if (g_str_has_prefix(id, "sha256:"))
				id += strlen("sha256:");
			g_autofree char *sid = g_strndup(id, 13);
			g_autofree char *size = ctl_human_size(im->size);
			if (im->n_repo_tags == 0)
				ctl_table_row(t, "<none>", "<none>", sid, size,
					      NULL);
			for (size_t k = 0; k < im->n_repo_tags; k++) {
				g_autofree char *repo = NULL, *tag = NULL;
				split_tag(im->repo_tags[k], &repo, &tag);
				ctl_table_row(t, repo, tag, sid, size, NULL);
			}
		}
		ctl_table_print(t, stdout);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

int ctl_cmd_pull(CtlCtx *ctx, int argc, char **argv)
{
	if (argc != 2)
		return ctl_usage(ctl_command_find("pull"),
				 "one image expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__PullImageRequest req =
		RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = argv[1];
	req.image = &spec;
	gint64 t = ctx->timeout_given ? ctx->timeout_ms : CTL_PULL_TIMEOUT_MS;
	Runtime__V1__PullImageResponse *r =
		ctl_call_timeout(ctx, "PullImage", &req, t, &error);
	if (r == NULL)
		return ctl_fail(error);
	printf("Image is up to date for %s\n", r->image_ref);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

int ctl_cmd_inspecti(CtlCtx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(ctl_command_find("inspecti"),
				 "image expected");
	int rc = CTL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		Runtime__V1__ImageStatusRequest req =
			RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
		Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
		spec.image = argv[i];
		req.image = &spec;
		req.verbose = TRUE;
		Runtime__V1__ImageStatusResponse *r =
			ctl_call(ctx, "ImageStatus", &req, &error);
		if (r == NULL) {
			rc = ctl_fail(error);
			continue;
		}
		if (r->image == NULL) {
			berth_throw(&error, NOT_FOUND,
				    "no such image \"%s\" present", argv[i]);
			rc = ctl_fail(error);
		} else {
			ctl_print_status_info(&r->base, "image", NULL);
		}
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return rc;
}
