/* mem.c - the one out-of-memory policy (mem.h). */
#include "mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void out_of_memory(size_t n)
{
	fprintf(stderr, "vigil: out of memory (%zu bytes): aborting\n", n);
	abort();
}

void *vg_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *vg_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *vg_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

char *vg_strdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = vg_malloc(n);
	memcpy(d, s, n);
	return d;
}

char *vg_strndup(const char *s, size_t n)
{
	if (!s)
		return NULL;
	size_t len = strnlen(s, n);
	char *d = vg_malloc(len + 1);
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *vg_vasprintf(const char *fmt, va_list ap)
{
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		out_of_memory(strlen(fmt));
	return s;
}

char *vg_asprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = vg_vasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void *json_alloc(size_t n)
{
	return vg_malloc(n);
}

void vg_mem_init(void)
{
	json_set_alloc_funcs(json_alloc, free);
}
