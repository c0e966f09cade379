/* cli_output.h - human-readable views for the `vigil` CLI.
 *
 * Owns: how the JSON views look as text (aligned tables). Must not: talk to the daemon or
 * decide exit codes.
 */
#ifndef VIGIL_CLI_OUTPUT_H
#define VIGIL_CLI_OUTPUT_H

#include <stdio.h>

#include <jansson.h>

#include "ocf.h"

void vg_print_status(FILE *f, json_t *status);
void vg_print_resource_list(FILE *f, json_t *status);
void vg_print_node_list(FILE *f, json_t *status); /* with each node's reason */
void vg_print_events(FILE *f, json_t *events);	  /* the events array of `events` */
void vg_print_resource(FILE *f, json_t *resource);
void vg_print_agent(FILE *f, const char *type, const vg_ocf_metadata *md);

/* A small aligned table: add rows of n cells, then print. */
typedef struct {
	size_t ncols;
	size_t nrows;
	char **cells; /* nrows * ncols */
} vg_table;

void vg_table_init(vg_table *t, size_t ncols, const char *const *header);
void vg_table_row(vg_table *t, const char *const *cells);
void vg_table_print(FILE *f, const vg_table *t);
void vg_table_free(vg_table *t);

#endif
