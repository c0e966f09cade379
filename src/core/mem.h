/* mem.h - the one out-of-memory policy: abort.
 *
 * Owns: allocation that cannot fail for its caller. When the system has no memory left the
 * process aborts with a line on stderr: a vigild that cannot allocate cannot keep its promises
 * either, and ending it lets its node be recovered by the cluster's rules (lease, fencing,
 * watchdog) rather than run on half-done. jansson allocates through the same functions once
 * vg_mem_init has run. Must not: be bypassed with the C library's allocators.
 */
#ifndef VIGIL_MEM_H
#define VIGIL_MEM_H

#include <stdarg.h>
#include <stddef.h>

/* ---- functions ------------------------------------------------------------ */

void *vg_malloc(size_t n);
void *vg_calloc(size_t n, size_t size); /* n or size 0: still a unique pointer */
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s); /* NULL stays NULL */
char *vg_strndup(const char *s, size_t n);
char *vg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *vg_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
/* jansson's allocator: the same policy. Call once in main, before any JSON is made. */
void vg_mem_init(void);

#endif
