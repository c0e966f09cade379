/* fuzz.h - what the libFuzzer harnesses of tests/fuzz share: the entry point and the check that
 * turns a broken invariant into a crash (under libFuzzer) or a failed cmocka test (in the replay
 * tests of the normal build, see replay_main.c).
 * Must not: hold state between inputs; each input is checked on its own.
 */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_REPLAY
/* replay_main.c: fails the current cmocka test (does not return). */
void fuzz_fail(const char *file, int line, const char *what);
#define FUZZ_FAIL(file, line, what) fuzz_fail(file, line, what)
#else
#define FUZZ_FAIL(file, line, what)                                                                \
	(fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what), abort())
#endif

/* An invariant every input must keep. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			FUZZ_FAIL(__FILE__, __LINE__, #cond);                                      \
	} while (0)

#endif
