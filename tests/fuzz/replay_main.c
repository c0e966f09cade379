/* replay_main.c - runs one fuzz harness (LLVMFuzzerTestOneInput) over saved inputs, as a cmocka
 * test in the normal build: one test per file of the harness's seed corpus and regressions, so
 * the harnesses keep building and every input a fuzzer once broke stays fixed.
 *
 * Usage: test_fuzz_NAME [DIR...]. Without arguments it reads tests/fuzz/corpus/NAME and
 * tests/fuzz/regress/NAME under $VIGIL_SRC (or the source tree it was built from). Files whose
 * name starts with '.' are skipped. Finding no input at all is a failure.
 * Must not: be linked into the libFuzzer binaries (libFuzzer brings its own main).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME (the harness name) must be defined"
#endif
#ifndef FUZZ_SRC
#define FUZZ_SRC "."
#endif

void fuzz_fail(const char *file, int line, const char *what)
{
	fail_msg("%s:%d: invariant broken: %s", file, line, what);
	abort(); /* not reached: fail_msg jumps out of the test */
}

/* The whole file in a buffer of exactly its size (so ASan sees any read past the end). */
static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	uint8_t *buf = NULL;
	size_t n = 0;
	for (;;) {
		uint8_t chunk[65536];
		size_t r = fread(chunk, 1, sizeof chunk, f);
		if (r == 0)
			break;
		uint8_t *b = realloc(buf, n + r);
		assert_non_null(b);
		memcpy(b + n, chunk, r);
		buf = b;
		n += r;
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	*len = n;
	return buf ? buf : malloc(1);
}

static void replay_one(void **state)
{
	const char *path = *state;
	size_t len;
	uint8_t *data = slurp(path, &len);
	assert_non_null(data);
	assert_int_equal(LLVMFuzzerTestOneInput(data, len), 0);
	free(data);
}

typedef struct {
	struct CMUnitTest *v;
	size_t n;
} tests;

static void add_dir(tests *t, const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			size_t len = strlen(dir) + strlen(names[i]->d_name) + 2;
			char *path = malloc(len);
			struct CMUnitTest *v = realloc(t->v, (t->n + 1) * sizeof *v);
			if (!path || !v)
				abort();
			snprintf(path, len, "%s/%s", dir, names[i]->d_name);
			t->v = v;
			const char *rel = strstr(path, "tests/fuzz/"); /* shorter test names */
			t->v[t->n++] = (struct CMUnitTest){.name = rel ? rel + 11 : path,
							   .test_func = replay_one,
							   .initial_state = path};
		}
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	tests t = {0};
	setvbuf(stdout, NULL, _IONBF, 0); /* a crash still shows which input ran */
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			add_dir(&t, argv[i]);
	} else {
		const char *src = getenv("VIGIL_SRC");
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", src ? src : FUZZ_SRC,
			 FUZZ_NAME);
		add_dir(&t, dir);
		snprintf(dir, sizeof dir, "%s/tests/fuzz/regress/%s", src ? src : FUZZ_SRC,
			 FUZZ_NAME);
		add_dir(&t, dir);
	}
	if (t.n == 0) {
		fprintf(stderr, "fuzz replay %s: no inputs found\n", FUZZ_NAME);
		return 1;
	}
	int rc = _cmocka_run_group_tests("fuzz_" FUZZ_NAME, t.v, t.n, NULL, NULL);
	for (size_t i = 0; i < t.n; i++)
		free(t.v[i].initial_state);
	free(t.v);
	return rc;
}
