/* cli_output.c - human-readable views for the `vigil` CLI (see cli_output.h). */
#include "cli_output.h"
#include "mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void vg_table_init(vg_table *t, size_t ncols, const char *const *header)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cells = NULL;
	vg_table_row(t, header);
}

void vg_table_row(vg_table *t, const char *const *cells)
{
	t->cells = vg_realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = vg_strdup(cells[c] ? cells[c] : "-");
	t->nrows++;
}

void vg_table_print(FILE *f, const vg_table *t)
{
	size_t w[16] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols && c < 16; c++) {
			size_t l = strlen(t->cells[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols)
				fprintf(f, "%s\n", s);
			else
				fprintf(f, "%-*s  ", (int)w[c], s);
		}
	}
}

void vg_table_free(vg_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

static void instances_text(json_t *res, char *buf, size_t len)
{
	size_t o = 0;
	json_t *inst;
	size_t i;
	buf[0] = '\0';
	bool first = true;
	json_array_foreach(json_object_get(res, "instances"), i, inst)
	{
		if (json_is_true(json_object_get(inst, "unrunnable")))
			continue; /* not there: print_unrunnable says why */
		const char *role = str(inst, "role");
		o += (size_t)snprintf(buf + o, o < len ? len - o : 0, "%s%s%s%s", first ? "" : ", ",
				      str(inst, "node"), strcmp(role, "started") ? ":" : "",
				      strcmp(role, "started") ? role : "");
		first = false;
		if (o >= len)
			break;
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

/* Resources that wait (cluster mode: why they are not running), one line each. */
static void print_waiting(FILE *f, json_t *status)
{
	json_t *res;
	size_t i;
	bool header = false;
	json_array_foreach(json_object_get(status, "resources"), i, res)
	{
		const char *w = json_string_value(json_object_get(res, "waiting"));
		if (!w)
			continue;
		if (!header)
			fprintf(f, "\nwaiting:\n");
		header = true;
		fprintf(f, "  %s: %s\n", str(res, "name"), w);
	}
}

/* Instances that cannot run where they are configured (cluster mode: an agent not installed
 * on that node), one line each with the node's reason. */
static void print_unrunnable(FILE *f, json_t *status)
{
	json_t *res, *inst;
	size_t i, k;
	bool header = false;
	json_array_foreach(json_object_get(status, "resources"), i, res)
	{
		json_array_foreach(json_object_get(res, "instances"), k, inst)
		{
			if (!json_is_true(json_object_get(inst, "unrunnable")))
				continue;
			if (!header)
				fprintf(f, "\ncannot run:\n");
			header = true;
			fprintf(f, "  %s on %s: %s\n", str(res, "name"), str(inst, "node"),
				str(inst, "reason"));
		}
	}
}

void vg_print_resource_list(FILE *f, json_t *status)
{
	static const char *const hdr[] = {"RESOURCE", "TYPE",  "STATE",
					  "WHERE",    "FAILS", "LAST ERROR"};
	vg_table t;
	vg_table_init(&t, 6, hdr);
	json_t *res;
	size_t i;
	json_array_foreach(json_object_get(status, "resources"), i, res)
	{
		char where[256], fails[32];
		instances_text(res, where, sizeof where);
		snprintf(fails, sizeof fails, "%lld",
			 (long long)json_integer_value(json_object_get(res, "failcount")));
		const char *row[] = {
		    str(res, "name"),	   str(res, "type"), str(res, "state"), where, fails,
		    str(res, "last_error")};
		vg_table_row(&t, row);
	}
	vg_table_print(f, &t);
	vg_table_free(&t);
	print_unrunnable(f, status);
	print_waiting(f, status);
}

static bool is_cluster(json_t *st)
{
	const char *mode =
	    json_string_value(json_object_get(json_object_get(st, "cluster"), "mode"));
	return mode && !strcmp(mode, "cluster");
}

/* Nodes; with_reason adds the REASON column (why a node is unclean, or what it waits for). */
static void print_nodes(FILE *f, json_t *st, bool with_reason)
{
	static const char *const nh[] = {"NODE", "ROLE", "STATE", "REASON"};
	vg_table t;
	vg_table_init(&t, with_reason ? 4 : 3, nh);
	json_t *n;
	size_t i;
	json_array_foreach(json_object_get(st, "nodes"), i, n)
	{
		const char *row[] = {str(n, "name"), str(n, "role"), str(n, "state"),
				     str(n, "reason")};
		vg_table_row(&t, row);
	}
	vg_table_print(f, &t);
	vg_table_free(&t);
}

void vg_print_node_list(FILE *f, json_t *status)
{
	print_nodes(f, status, true);
}

void vg_print_status(FILE *f, json_t *st)
{
	json_t *c = json_object_get(st, "cluster");
	fprintf(f, "cluster %s: %s, leader %s, %s\n\n", str(c, "name"), str(c, "mode"),
		str(c, "leader"),
		json_is_true(json_object_get(c, "quorate")) ? "quorate" : "WITHOUT QUORUM");
	print_nodes(f, st, is_cluster(st));
	fprintf(f, "\n");
	vg_print_resource_list(f, st);
}

void vg_print_events(FILE *f, json_t *events)
{
	if (json_array_size(events) == 0) {
		fprintf(f, "no events\n");
		return;
	}
	static const char *const eh[] = {"TIME", "KIND", "EVENT"};
	vg_table t;
	vg_table_init(&t, 3, eh);
	json_t *e;
	size_t i;
	json_array_foreach(events, i, e)
	{
		char when[64] = "-";
		json_t *ms = json_object_get(e, "time_ms");
		if (json_is_integer(ms)) {
			long long v = (long long)json_integer_value(ms);
			time_t sec = (time_t)(v / 1000);
			struct tm tm;
			if (localtime_r(&sec, &tm)) {
				size_t n = strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
				snprintf(when + n, sizeof when - n, ".%03lld", v % 1000);
			}
		}
		const char *row[] = {when, str(e, "kind"), str(e, "text")};
		vg_table_row(&t, row);
	}
	vg_table_print(f, &t);
	vg_table_free(&t);
}

void vg_print_resource(FILE *f, json_t *r)
{
	char where[256];
	instances_text(r, where, sizeof where);
	fprintf(f, "resource   %s\ntype       %s\nstate      %s\nrunning on %s\n", str(r, "name"),
		str(r, "type"), str(r, "state"), where);
	fprintf(f, "failcount  %lld (migration_threshold %lld)\n",
		(long long)json_integer_value(json_object_get(r, "failcount")),
		(long long)json_integer_value(json_object_get(r, "migration_threshold")));
	if (json_object_get(r, "pid"))
		fprintf(f, "pid        %lld\n",
			(long long)json_integer_value(json_object_get(r, "pid")));
	fprintf(f, "last error %s\n", str(r, "last_error"));
	if (json_is_string(json_object_get(r, "waiting")))
		fprintf(f, "waiting    %s\n", str(r, "waiting"));
	json_t *lo = json_object_get(r, "last_op");
	if (lo)
		fprintf(f, "last op    %s: %s (rc %lld, %.1f ms)%s%s\n", str(lo, "op"),
			str(lo, "outcome"),
			(long long)json_integer_value(json_object_get(lo, "rc")),
			(double)json_integer_value(json_object_get(lo, "duration_us")) / 1000.0,
			*str(lo, "output") && strcmp(str(lo, "output"), "-") ? ": " : "",
			strcmp(str(lo, "output"), "-") ? str(lo, "output") : "");
	const char *k;
	json_t *v;
	fprintf(f, "params\n");
	json_object_foreach(json_object_get(r, "params"), k, v)
	    fprintf(f, "  %s = %s\n", k, json_string_value(v));
	fprintf(f, "ops\n");
	json_object_foreach(json_object_get(r, "ops"), k, v)
	    fprintf(f, "  %-8s timeout %lld ms, interval %lld ms\n", k,
		    (long long)json_integer_value(json_object_get(v, "timeout_ms")),
		    (long long)json_integer_value(json_object_get(v, "interval_ms")));
}

void vg_print_agent(FILE *f, const char *type, const vg_ocf_metadata *md)
{
	fprintf(f, "%s (version %s)\n%s\n\n", type, md->version ? md->version : "?",
		md->shortdesc ? md->shortdesc : "");
	static const char *const ph[] = {"PARAMETER", "REQUIRED", "TYPE", "DEFAULT", "DESCRIPTION"};
	vg_table t;
	vg_table_init(&t, 5, ph);
	for (size_t i = 0; i < md->n_params; i++) {
		const vg_ocf_param *p = &md->params[i];
		const char *row[] = {p->name, p->required ? "yes" : "no", p->type, p->def,
				     p->shortdesc};
		vg_table_row(&t, row);
	}
	vg_table_print(f, &t);
	vg_table_free(&t);
	fprintf(f, "\n");
	static const char *const ah[] = {"ACTION", "TIMEOUT", "INTERVAL"};
	vg_table_init(&t, 3, ah);
	for (size_t i = 0; i < md->n_actions; i++) {
		char to[32], iv[32];
		snprintf(to, sizeof to, "%llums", (unsigned long long)md->actions[i].timeout_ms);
		snprintf(iv, sizeof iv, "%llums", (unsigned long long)md->actions[i].interval_ms);
		const char *row[] = {md->actions[i].name, to, iv};
		vg_table_row(&t, row);
	}
	vg_table_print(f, &t);
	vg_table_free(&t);
}
