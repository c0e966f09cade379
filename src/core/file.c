/* file.c - the one reader of a whole file into memory (see file.h).
 *
 * Owns: open, read to end of file (in growing steps: /proc files say size 0), the bound, the
 * NUL. Must not: interpret the content.
 */
#include "file.h"
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errbuf.h"

char *vg_file_read(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		vg_seterr(err, errlen, "cannot open: %s", strerror(e));
		errno = e;
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = vg_malloc(cap);
	for (;;) {
		if (n + 1 == cap) {
			if (n > max)
				break;
			cap *= 2;
			buf = vg_realloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			vg_seterr(err, errlen, "cannot read: %s", strerror(e));
			close(fd);
			free(buf);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		vg_seterr(err, errlen, "larger than %zu bytes", max);
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}
