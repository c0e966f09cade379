/* file.h - the one reader of a whole file into memory, for every layer.
 *
 * Owns: reading a regular file (or a /proc file, whose size stat does not tell) from start to
 * end into one NUL-terminated buffer, bounded by a size the caller gives. Must not: interpret
 * what it reads, or be used on the daemon's loop for anything but small local files.
 */
#ifndef VIGIL_FILE_H
#define VIGIL_FILE_H

#include <stddef.h>

/* ---- functions ------------------------------------------------------------ */

/* The whole content of `path`, NUL-terminated (the content may itself hold NULs), its length
 * without the NUL in *len (len may be NULL). A file larger than max bytes is an error.
 * Returns NULL with err filled ("cannot open: No such file or directory", "larger than N
 * bytes", ...; without the path) and errno set (ENOENT, EFBIG, ...). Caller frees. */
char *vg_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen);

#endif
