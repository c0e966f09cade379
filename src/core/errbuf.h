/* errbuf.h - filling a caller's (err, errlen) buffer, the error convention of vigil's
 * synchronous calls. Header-only: one small inline function. */
#ifndef VIGIL_ERRBUF_H
#define VIGIL_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

static inline void vg_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Format into err when the caller gave one (err may be NULL or errlen 0). */
static inline void vg_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

#endif
