/* test_member_msg.c - unit tests of the member messages' strict codec
 * (src/core/member_msg.c): every kind round-trips, and each kind of defect is refused with a
 * message naming it. Table-driven. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member_msg.h"

/* Every JSON text parsed in this test goes through here (the real one, counted): the encoder
 * must parse none (its checks are made on the values it writes, not on its text). */
static int loads;
json_t *json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
	static json_t *(*real)(const char *, size_t, size_t, json_error_t *);
	if (!real)
		*(void **)(&real) = dlsym(RTLD_NEXT, "json_loadb");
	loads++;
	return real(buffer, buflen, flags, error);
}

static vg_member_msg *dec(const char *s, char *err, size_t errlen)
{
	return vg_mm_decode(s, strlen(s), err, errlen);
}

/* decode(text) -> encode -> must give back exactly text (keys sorted, compact) */
static void test_round_trip(void **state)
{
	(void)state;
	static const char *const ok[] = {
	    "{\"ack\":4,\"kind\":\"report\",\"leaving\":false,\"probed\":true,\"res\":{\"vip\":"
	    "\"running\",\"web\":\"stopped\"},\"ring\":12}",
	    "{\"ack\":4,\"kind\":\"report\",\"leaving\":true,\"probed\":false,\"res\":{},\"ring\":"
	    "12,"
	    "\"seen\":{\"n3\":17},\"stale\":\"line 3: unknown key \\\"x\\\"\\nsee the log\","
	    "\"unrunnable\":{\"db\":\"agent ocf:heartbeat:pgsql is not "
	    "installed\"},\"wd\":{\"dev\":"
	    "\"/dev/watchdog0\",\"timeout\":10}}",
	    "{\"ack\":0,\"kind\":\"report\",\"leaving\":false,\"probed\":true,\"res\":{},\"ring\":"
	    "1,"
	    "\"seen\":{},\"unrunnable\":{}}",
	    "{\"id\":9,\"kind\":\"action\",\"node\":\"n2\",\"op\":\"stop\",\"res\":\"vip\","
	    "\"ring\":"
	    "12}",
	    "{\"epoch\":2,\"kind\":\"summary\",\"ring\":12,\"version\":40}",
	    "{\"epoch\":2,\"history\":"
	    "\"00000000000000000000000000000000000000000000000000000000000000ab\","
	    "\"kind\":\"summary\",\"prev\":3,\"recent\":[[39,\"000000000000000000000000000000000000"
	    "00000000000000000000000000cd\",\"event\"],[40,\"00000000000000000000000000000000000000"
	    "000000000000000000000000ab\",\"node_admin\"]],\"ring\":12,\"version\":40}",
	    "{\"kind\":\"bye\",\"res\":{\"vip\":\"stopped\"}}",
	    "{\"kind\":\"heartbeat\",\"t\":77}",
	    "{\"kind\":\"fence\",\"node\":\"n3\"}",
	    "{\"kind\":\"cleanup\",\"res\":\"web\"}",
	    "{\"kind\":\"restart\",\"res\":\"web\"}",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char err[256] = "";
		vg_member_msg *m = dec(ok[i], err, sizeof err);
		if (!m)
			fail_msg("%s: %s", ok[i], err);
		size_t len;
		char *back = vg_mm_encode(m, &len);
		assert_non_null(back);
		assert_string_equal(back, ok[i]);
		assert_int_equal(len, strlen(ok[i]));
		free(back);
		vg_mm_free(m);
	}
}

static void test_typed_fields(void **state)
{
	(void)state;
	char err[256];
	vg_member_msg *m =
	    dec("{\"kind\":\"action\",\"node\":\"n2\",\"op\":\"stop\",\"res\":\"db\","
		"\"id\":3,\"ring\":5}",
		err, sizeof err);
	assert_non_null(m);
	assert_int_equal(m->kind, VG_MM_ACTION);
	assert_int_equal(m->op, VG_OP_STOP);
	assert_string_equal(m->node, "n2");
	assert_string_equal(m->resource, "db");
	assert_int_equal(m->id, 3);
	assert_int_equal(m->ring, 5);
	vg_mm_free(m);
}

/* a valid report with extra fields */
#define REPORT(extra)                                                                              \
	"{\"kind\":\"report\",\"ring\":1,\"probed\":true,\"leaving\":false,\"ack\":0,\"res\":{}"   \
	"," extra "}"

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want; /* want: a part of the error */
	} bad[] = {
	    {"[]", "must be a JSON object"},
	    {"{\"kind\":\"gossip\"}", "unknown kind \"gossip\""},
	    {"{\"ring\":1}", "missing field \"kind\""},
	    {"{\"kind\":\"bye\",\"res\":{},\"x\":1}", "bye: unknown field \"x\""},
	    {"{\"kind\":\"bye\"}", "bye: field \"res\" must be an object"},
	    {"{\"kind\":\"bye\",\"res\":{\"vip\":\"gone\"}}", "res.vip: not a resource state"},
	    {"{\"kind\":\"hb\",\"t\":1}", "unknown kind \"hb\""},
	    {"{\"kind\":\"heartbeat\"}", "heartbeat: missing field \"t\""},
	    {"{\"kind\":\"heartbeat\",\"ring\":1,\"t\":1}", "heartbeat: unknown field \"ring\""},
	    {"{\"kind\":\"heartbeat\",\"t\":-1}", "field \"t\" must be an integer"},
	    {"{\"kind\":\"heartbeat\",\"t\":\"1\"}", "field \"t\" must be an integer"},
	    {"{\"kind\":\"summary\",\"ring\":-1,\"epoch\":1,\"version\":1}",
	     "field \"ring\" must be an integer"},
	    {"{\"kind\":\"summary\",\"ring\":1,\"epoch\":1,\"version\":1,\"prev\":65536}",
	     "field \"prev\" must be an integer"},
	    {"{\"coordinator\":\"n1\",\"id\":9,\"kind\":\"action\",\"node\":\"n2\",\"op\":"
	     "\"start\","
	     "\"res\":\"vip\",\"ring\":12}",
	     "action: unknown field \"coordinator\""},
	    {"{\"kind\":\"fence\",\"node\":\"\"}", "field \"node\" must be 1..255 bytes"},
	    {"{\"kind\":\"fence\",\"node\":\"n\\u0001\"}", "field \"node\" has control characters"},
	    {"{\"kind\":\"fence\",\"node\":\"n\\u0000x\"}", "is not allowed"},
	    {"{\"kind\":\"fence\",\"node\":\"n1\",\"node\":\"n2\"}", "duplicate"},
	    {"{\"kind\":\"action\",\"node\":\"n2\",\"op\":\"dance\",\"res\":\"db\",\"id\":3,"
	     "\"ring\":5}",
	     "unknown operation \"dance\""},
	    {"{\"kind\":\"report\",\"ring\":1,\"probed\":true,\"leaving\":0,\"ack\":0,\"res\":{}}",
	     "field \"leaving\" must be true or false"},
	    {"{\"kind\":\"report\",\"ring\":1,\"probed\":true,\"leaving\":false,\"ack\":0,"
	     "\"res\":{\"vip\":\"sleeping\"}}",
	     "res.vip: not a resource state"},
	    {"{\"kind\":\"report\",\"ring\":1,\"probed\":true,\"leaving\":false,\"ack\":0,"
	     "\"res\":[]}",
	     "field \"res\" must be an object"},
	    {REPORT("\"wd\":null"), "field \"wd\" must be an object"},
	    {REPORT("\"wd\":{\"dev\":\"/dev/watchdog\",\"timeout\":0}"),
	     "\"timeout\" must be 1..3600"},
	    {REPORT("\"wd\":{\"dev\":\"/dev/watchdog\",\"timeout\":3601}"),
	     "report: wd: field \"timeout\" must be an integer"},
	    {REPORT("\"wd\":{\"timeout\":5}"), "report: wd: missing field \"dev\""},
	    {REPORT("\"wd\":{\"dev\":\"/dev/watchdog\",\"timeout\":5,\"x\":1}"),
	     "unknown field \"x\""},
	    {REPORT("\"seen\":{\"n2\":-1}"), "report: seen: field \"n2\" must be an integer"},
	    {REPORT("\"seen\":{\"n2\":\"4\"}"), "report: seen: field \"n2\" must be an integer"},
	    {REPORT("\"seen\":[]"), "field \"seen\" must be an object of versions"},
	    {REPORT("\"seen\":{\"\":1}"), "report: seen: a name must be 1..255 bytes"},
	    {REPORT("\"unrunnable\":{\"db\":\"\"}"),
	     "report: unrunnable: field \"db\" must be 1..4096"},
	    {REPORT("\"unrunnable\":{\"db\":3}"),
	     "report: unrunnable: field \"db\" must be a string"},
	    {REPORT("\"errors\":{\"db\":3}"), "report: errors: field \"db\" must be a string"},
	    {REPORT("\"unrunnable\":{\"db\":\"a\\u0001\"}"), "has control characters"},
	    {REPORT("\"stale\":\"\""), "report: field \"stale\" must be 1..4096"},
	    {REPORT("\"stale\":true"), "report: field \"stale\" must be a string"},
	    {"{\"kind\":\"cleanup\",\"res\":{\"a\":\"running\"}}",
	     "field \"res\" must be a string"},
	    {"{\"epoch\":1,\"history\":\"xyz\",\"kind\":\"summary\",\"ring\":1,\"version\":1}",
	     "field \"history\" must be 64 hex digits"},
	    {"{\"epoch\":1,\"kind\":\"summary\",\"recent\":[[2,\"00\",\"event\"]],\"ring\":1,"
	     "\"version\":1}",
	     "field \"recent\""},
	    {"{\"epoch\":1,\"kind\":\"summary\",\"recent\":{},\"ring\":1,\"version\":1}",
	     "field \"recent\""},
	    {"{\"kind\":\"report\"", "member message: line 1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[256] = "";
		vg_member_msg *m = vg_mm_decode(bad[i].in, strlen(bad[i].in), err, sizeof err);
		if (m)
			fail_msg("accepted: %s", bad[i].in);
		if (!strstr(err, bad[i].want))
			fail_msg("%s: error \"%s\" does not say \"%s\"", bad[i].in, err,
				 bad[i].want);
	}
	char *big = malloc(VG_MM_MAX + 2);
	memset(big, ' ', VG_MM_MAX + 1);
	big[VG_MM_MAX + 1] = '\0';
	char err[256] = "";
	assert_null(vg_mm_decode(big, VG_MM_MAX + 1, err, sizeof err));
	assert_non_null(strstr(err, "too large"));
	free(big);
}

/* Each kind, typed with every field it has, encodes without parsing its text, and the strict
 * decoder takes the encoding back field for field. */
static void test_encode_every_kind(void **state)
{
	(void)state;
	vg_hid h = {{0}};
	h.b[31] = 0xab;
	json_t *res = json_pack("{s:s}", "vip", "running"), *seen = json_pack("{s:I}", "n2", 4),
	       *unr = json_pack("{s:s}", "db", "no agent"),
	       *recent = json_pack(
		   "[[I,s,s]]", (json_int_t)40,
		   "00000000000000000000000000000000000000000000000000000000000000ab", "event");
	vg_member_msg all[] = {
	    {.kind = VG_MM_REPORT,
	     .ring = 3,
	     .probed = true,
	     .ack = 2,
	     .resources = res,
	     .wd = {(char *)"/dev/watchdog0", 10},
	     .seen = seen,
	     .unrunnable = unr,
	     .errors = unr,
	     .stale = (char *)"line 3\nbad"},
	    {.kind = VG_MM_ACTION,
	     .ring = 3,
	     .node = (char *)"n2",
	     .resource = (char *)"vip",
	     .op = VG_OP_STOP,
	     .id = 7},
	    {.kind = VG_MM_SUMMARY,
	     .ring = 3,
	     .epoch = 1,
	     .version = 40,
	     .history = h,
	     .recent = recent,
	     .prev = 2},
	    {.kind = VG_MM_BYE, .resources = res},
	    {.kind = VG_MM_HEARTBEAT, .t = 99},
	    {.kind = VG_MM_FENCE, .node = (char *)"n3"},
	    {.kind = VG_MM_CLEANUP, .resource = (char *)"web"},
	    {.kind = VG_MM_RESTART, .resource = (char *)"web"},
	};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const vg_member_msg *m = &all[i];
		size_t len;
		loads = 0;
		char *s = vg_mm_encode(m, &len);
		assert_non_null(s);
		assert_int_equal(loads, 0);
		char err[256] = "";
		vg_member_msg *b = vg_mm_decode(s, len, err, sizeof err);
		if (!b)
			fail_msg("%s: %s", s, err);
		assert_int_equal(loads, 1);
		assert_int_equal(b->kind, m->kind);
		assert_true(b->ring == m->ring && b->probed == m->probed && b->ack == m->ack &&
			    b->op == m->op && b->id == m->id && b->epoch == m->epoch &&
			    b->version == m->version && b->prev == m->prev && b->t == m->t &&
			    b->wd.timeout_s == m->wd.timeout_s);
		assert_true(!memcmp(&b->history, &m->history, sizeof h));
		const char *ms[] = {m->node, m->resource, m->stale, m->wd.dev},
			   *bs[] = {b->node, b->resource, b->stale, b->wd.dev};
		for (size_t k = 0; k < 4; k++)
			assert_true((!ms[k] && !bs[k]) ||
				    (ms[k] && bs[k] && !strcmp(ms[k], bs[k])));
		const json_t *mj[] = {m->resources, m->seen, m->unrunnable, m->recent, m->errors},
			     *bj[] = {b->resources, b->seen, b->unrunnable, b->recent, b->errors};
		for (size_t k = 0; k < 5; k++)
			assert_true(
			    (!mj[k] && !bj[k]) ||
			    (mj[k] && bj[k] && json_equal((json_t *)mj[k], (json_t *)bj[k])));
		vg_mm_free(b);
		free(s);
	}
	json_decref(res);
	json_decref(seen);
	json_decref(unr);
	json_decref(recent);
}

/* The encoder refuses what the decoder would refuse. */
static void test_encoder_refuses(void **state)
{
	(void)state;
	vg_member_msg m = {.kind = VG_MM_FENCE};
	assert_null(vg_mm_encode(&m, NULL)); /* no node */
	m.kind = VG_MM_REPORT;
	m.resources = json_pack("{s:s}", "vip", "sleeping");
	assert_null(vg_mm_encode(&m, NULL));
	json_decref(m.resources);
	m.resources = json_object();
	m.stale = (char *)"";
	assert_null(vg_mm_encode(&m, NULL)); /* an empty reason */
	m.stale = NULL;
	m.wd.dev = (char *)"/dev/watchdog";
	m.wd.timeout_s = 0;
	assert_null(vg_mm_encode(&m, NULL)); /* a watchdog without a timeout */
	m.wd.timeout_s = 30;
	char *ok = vg_mm_encode(&m, NULL);
	assert_non_null(ok);
	free(ok);
	m.seen = json_pack("{s:I}", "n2", (json_int_t)-3);
	assert_null(vg_mm_encode(&m, NULL));
	json_decref(m.seen);
	m.seen = NULL;
	json_decref(m.resources);
	m.kind = VG_MM_BYE;
	m.resources = NULL;
	assert_null(vg_mm_encode(&m, NULL)); /* a goodbye without its report */
	m.kind = VG_MM_HEARTBEAT;
	m.t = 12;
	ok = vg_mm_encode(&m, NULL);
	assert_string_equal(ok, "{\"kind\":\"heartbeat\",\"t\":12}");
	free(ok);
	m.kind = (vg_mm_kind)99;
	assert_null(vg_mm_encode(&m, NULL));

	/* each rule of the decoder, on the encoder's side */
	vg_member_msg s = {.kind = VG_MM_SUMMARY, .ring = 1, .epoch = 1, .version = 1};
	s.prev = VG_MM_PREV_MAX + 1;
	assert_null(vg_mm_encode(&s, NULL));
	s.prev = 0;
	s.recent = json_pack("[[I,s,s]]", (json_int_t)2, "00", "event");
	assert_null(vg_mm_encode(&s, NULL));
	json_decref(s.recent);
	vg_member_msg f = {.kind = VG_MM_FENCE, .node = (char *)"n\n2"};
	assert_null(vg_mm_encode(&f, NULL)); /* a newline in a name */
	f.node = (char *)"\xff";
	assert_null(vg_mm_encode(&f, NULL)); /* not UTF-8 */
	char longname[VG_MM_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	f.node = longname;
	assert_null(vg_mm_encode(&f, NULL));
	vg_member_msg r = {.kind = VG_MM_REPORT, .resources = json_object()};
	json_object_set_new(r.resources, "", json_string("running"));
	assert_null(vg_mm_encode(&r, NULL)); /* an empty name */
	json_decref(r.resources);
	r.resources = json_object();
	json_object_setn_new(r.resources, "a\0b", 3, json_string("running"));
	assert_null(vg_mm_encode(&r, NULL)); /* a NUL in a name */
	json_decref(r.resources);
	r.resources = json_object();
	r.unrunnable = json_pack("{s:s}", "db", "a\001");
	assert_null(vg_mm_encode(&r, NULL));
	json_decref(r.unrunnable);
	r.unrunnable = NULL;
	r.seen = json_pack("{s:f}", "n2", 1.0);
	assert_null(vg_mm_encode(&r, NULL));
	json_decref(r.seen);
	r.seen = NULL;
	/* larger than the decoder's limit */
	char name[VG_MM_NAME_MAX + 1];
	for (int i = 0; i < 5000; i++) {
		snprintf(name, sizeof name, "%0250d", i);
		json_object_set_new(r.resources, name, json_string("running"));
	}
	assert_null(vg_mm_encode(&r, NULL));
	json_decref(r.resources);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),	    cmocka_unit_test(test_typed_fields),
	    cmocka_unit_test(test_refused),	    cmocka_unit_test(test_encode_every_kind),
	    cmocka_unit_test(test_encoder_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
