/* Unit tests: the per-class stop bound a halting node keeps and the quorate side relies on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stop_bound.h"

static void test_bounds_per_class(void **state)
{
	(void)state;
	vg_config cfg = {.halt_grace_ms = 250};
	static const struct {
		vg_rclass cls;
		uint64_t want;
	} cases[] = {
	    {VG_CLASS_VIP, VG_STOP_BOUND_VIP_MS}, {VG_CLASS_PROCESS, 250 + VG_STOP_BOUND_KILL_MS},
	    {VG_CLASS_OCF, VG_STOP_UNBOUNDED}, /* an agent's stop may take as long as it likes */
	    {VG_CLASS_LSB, VG_STOP_UNBOUNDED},	  {VG_CLASS_SYSTEMD, VG_STOP_UNBOUNDED},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		vg_resource r = {.cls = cases[i].cls};
		assert_int_equal(vg_stop_bound_ms(&cfg, &r), cases[i].want);
	}
	/* the grace is the configuration's: a longer one lengthens only the process bound */
	cfg.halt_grace_ms = 2000;
	vg_resource p = {.cls = VG_CLASS_PROCESS}, v = {.cls = VG_CLASS_VIP};
	assert_int_equal(vg_stop_bound_ms(&cfg, &p), 2000 + VG_STOP_BOUND_KILL_MS);
	assert_int_equal(vg_stop_bound_ms(&cfg, &v), VG_STOP_BOUND_VIP_MS);
	assert_int_equal(vg_stop_bound_ms(NULL, &p), VG_STOP_BOUND_KILL_MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds_per_class),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
