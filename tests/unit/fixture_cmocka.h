/* fixture_cmocka.h - the cluster fixture (cluster_fixture.h) in cmocka tests: a step that
 * must keep the invariants, and a booted cluster that lives in the test's state so that
 * teardown frees it also when the test fails. Include after cmocka.h. */
#ifndef VIGIL_FIXTURE_CMOCKA_H
#define VIGIL_FIXTURE_CMOCKA_H

#include "cluster_fixture.h"

/* A run that must pass: on a violation, fail with the violation (the trace went to stderr). */
#define STEP_OK(f, ms)                                                                             \
	do {                                                                                       \
		if (fx_advance((f), (ms)) != 0)                                                    \
			fail_msg("invariant violated: %s", fx_violation(f));                       \
	} while (0)

/* A new cluster of o, run for 3 s (formed, configuration committed, everything placed). */
static inline fx *fx_boot_in(void **st, const fx_opts *o)
{
	fx *f = fx_new(o);
	assert_non_null(f);
	*st = f;
	STEP_OK(f, 3000);
	return f;
}

#endif
