/*
 * test_engine.c - whole messages through the engine: corpus and chunking
 *
 *	For every rule of the default set, tests/rules/fire/<ID>.eml must make
 *	it fire and tests/rules/benign/<ID>.eml must not; each message is fed
 *	whole, in 7-byte and in 1-byte chunks, with the same verdict each time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "ruleset.h"

#define TEST_MSG_MAX	(1024 * 1024)	/* bytes of one corpus message */
#define TEST_RCPT_MAX	100		/* recipients in one .env file */
#define TEST_LINE_MAX	512

#define EICAR "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

/* A test envelope with its own storage. */
struct test_env {
	struct envelope env;
	char    helo[TEST_LINE_MAX], addr[TEST_LINE_MAX], name[TEST_LINE_MAX];
	char    from[TEST_LINE_MAX];
	char    rcpt_buf[TEST_RCPT_MAX][TEST_LINE_MAX];
	const char *rcpt[TEST_RCPT_MAX];
};

/* env_default - the envelope of a corpus message without a .env file */
static void env_default(struct test_env *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->helo, "mail.example.org");
	strcpy(t->addr, "198.18.0.2");
	strcpy(t->name, "mail.example.org");
	strcpy(t->from, "alice@example.org");
	strcpy(t->rcpt_buf[0], "bob@example.net");
	t->rcpt[0] = t->rcpt_buf[0];
	t->env = (struct envelope) {t->addr, t->name, t->helo, t->from,
				    t->rcpt, 1};
}

/* env_load - read "key value" lines; rcpt lines replace the default */
static void env_load(struct test_env *t, const char *path)
{
	FILE   *fp = fopen(path, "r");
	char    line[TEST_LINE_MAX], *v;
	size_t  n = 0;

	env_default(t);
	if (fp == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if ((v = strchr(line, ' ')) == NULL)
			continue;
		*v++ = '\0';
		if (strcmp(line, "helo") == 0)
			snprintf(t->helo, sizeof(t->helo), "%s", v);
		else if (strcmp(line, "mail-from") == 0)
			snprintf(t->from, sizeof(t->from), "%s", v);
		else if (strcmp(line, "client-addr") == 0)
			snprintf(t->addr, sizeof(t->addr), "%s", v);
		else if (strcmp(line, "client-name") == 0)
			snprintf(t->name, sizeof(t->name), "%s", v);
		else if (strcmp(line, "rcpt") == 0 && n < TEST_RCPT_MAX) {
			snprintf(t->rcpt_buf[n], TEST_LINE_MAX, "%s", v);
			t->rcpt[n] = t->rcpt_buf[n];
			n++;
		}
	}
	fclose(fp);
	if (n > 0)
		t->env.nrcpt = n;
}

/* read_file - a whole file into buf, its length, -1 if missing */
static long read_file(const char *path, char *buf, size_t size)
{
	FILE   *fp = fopen(path, "rb");
	size_t  n;

	if (fp == NULL)
		return -1;
	n = fread(buf, 1, size, fp);
	fclose(fp);
	return (long) n;
}

struct outcome {
	enum action action;
	int     score;
	char    ids[2048];	/* "A B C " in match order */
};

/* scan_chunked - one message through the engine in chunks of n bytes */
static void scan_chunked(struct engine_worker *w, const struct ruleset *rs,
			 const struct envelope *env, const char *msg,
			 size_t len, size_t n, struct outcome *o)
{
	struct engine_msg *m = engine_msg_begin(w, rs, env);
	struct verdict v;

	assert_non_null(m);
	for (size_t off = 0; off < len; off += n)
		assert_int_equal(engine_msg_feed(m, msg + off,
					 len - off < n ? len - off : n), 0);
	assert_int_equal(engine_msg_end(m, &v), 0);
	memset(o, 0, sizeof(*o));
	o->action = v.action;
	o->score = v.score;
	for (size_t i = 0; i < v.nmatches; i++) {
		strncat(o->ids, v.matches[i].rule_id,
			sizeof(o->ids) - strlen(o->ids) - 2);
		strcat(o->ids, " ");
	}
	verdict_free(&v);
	engine_msg_free(m);
}

/* has_id - whether "ID " is among the ids */
static int has_id(const char *ids, const char *id)
{
	size_t  n = strlen(id);

	for (const char *p = ids; (p = strstr(p, id)) != NULL; p++)
		if ((p == ids || p[-1] == ' ') && p[n] == ' ')
			return 1;
	return 0;
}

struct fixture {
	struct ruleset *rs;
	struct engine_worker *w;
	char   *buf;
};

/* setup - default rules and a worker */
static int setup(void **state)
{
	static struct fixture f;
	struct rules_error err;

	f.rs = rules_load_dir(RULES_DEFAULT_DIR, &err);
	if (f.rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	f.w = engine_worker_new(f.rs);
	assert_non_null(f.w);
	f.buf = malloc(TEST_MSG_MAX);
	assert_non_null(f.buf);
	*state = &f;
	return 0;
}

/* teardown - release */
static int teardown(void **state)
{
	struct fixture *f = *state;

	engine_worker_free(f->w);
	rules_free(f->rs);
	free(f->buf);
	return 0;
}

/* check_one - a corpus message; want: the rule must (not) fire */
static int check_one(struct fixture *f, const char *kind, const char *id,
		     int want)
{
	static struct test_env te;
	char    path[1024];
	struct outcome whole, part;
	long    len;
	int     bad = 0;

	snprintf(path, sizeof(path), "%s/%s/%s.eml", CORPUS_DIR, kind, id);
	if ((len = read_file(path, f->buf, TEST_MSG_MAX)) < 0) {
		print_error("missing %s\n", path);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/%s/%s.env", CORPUS_DIR, kind, id);
	env_load(&te, path);
	scan_chunked(f->w, f->rs, &te.env, f->buf, (size_t) len,
		     (size_t) len + 1, &whole);
	if (has_id(whole.ids, id) != want) {
		print_error("%s/%s.eml: rule %s %s (matches: %s)\n", kind, id,
			    id, want ? "did not fire" : "fired", whole.ids);
		bad = 1;
	}
	for (size_t n = 1; n <= 7; n += 6) {
		scan_chunked(f->w, f->rs, &te.env, f->buf, (size_t) len, n,
			     &part);
		if (strcmp(part.ids, whole.ids) != 0
		    || part.action != whole.action) {
			print_error("%s/%s.eml: %zu-byte chunks give \"%s\", "
				    "whole gives \"%s\"\n", kind, id, n,
				    part.ids, whole.ids);
			bad = 1;
		}
	}
	return bad;
}

/* test_every_rule_fires_on_its_message_and_not_on_benign - the corpus */
static void test_every_rule_fires_on_its_message_and_not_on_benign(
	void **state)
{
	struct fixture *f = *state;
	int     bad = 0;

	for (size_t i = 0; i < f->rs->nrules; i++) {
		bad += check_one(f, "fire", f->rs->rules[i].id, 1);
		bad += check_one(f, "benign", f->rs->rules[i].id, 0);
	}
	if (bad)
		fail_msg("%d corpus failures", bad);
}

/* test_eicar_base64_attachment_in_one_byte_chunks_is_rejected - decode */
static void test_eicar_base64_attachment_in_one_byte_chunks_is_rejected(
	void **state)
{
	struct fixture *f = *state;
	static const char msg[] =
		"From: a@example.org\r\nTo: b@example.net\r\nSubject: x\r\n"
		"MIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n"
		"--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
		"--zz\r\nContent-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFO\r\n"
		"VElWSVJVUy1URVNULUZJTEUhJEgrSCo=\r\n"
		"--zz--\r\n";
	static struct test_env te;
	struct outcome o;

	env_default(&te);
	scan_chunked(f->w, f->rs, &te.env, msg, sizeof(msg) - 1, 1, &o);
	assert_true(has_id(o.ids, "EICAR_ATTACHMENT"));
	assert_int_equal(o.action, ACT_REJECT);
}

/* test_verdict_names_policy_and_reply - reject text from the rule */
static void test_verdict_names_policy_and_reply(void **state)
{
	struct fixture *f = *state;
	static const char msg[] = "Subject: t\r\n\r\n" EICAR "\r\n";
	static struct test_env te;
	struct engine_msg *m;
	struct verdict v;

	env_default(&te);
	m = engine_msg_begin(f->w, f->rs, &te.env);
	assert_non_null(m);
	assert_int_equal(engine_msg_feed(m, msg, sizeof(msg) - 1), 0);
	assert_int_equal(engine_msg_end(m, &v), 0);
	assert_int_equal(v.action, ACT_REJECT);
	assert_string_equal(v.reply, "550 5.7.1 Virus found: EICAR-Test-File");
	assert_string_equal(v.policy, "default");
	verdict_free(&v);
	engine_msg_free(m);
}

/* test_worker_is_reusable_after_an_abandoned_message - free w/o end */
static void test_worker_is_reusable_after_an_abandoned_message(void **state)
{
	struct fixture *f = *state;
	static struct test_env te;
	struct engine_msg *m;
	struct outcome o;

	env_default(&te);
	m = engine_msg_begin(f->w, f->rs, &te.env);
	assert_non_null(m);
	assert_int_equal(engine_msg_feed(m, "Subject: a\r\n\r\nXJS*C4JDBQ", 24),
			 0);
	engine_msg_free(m);
	scan_chunked(f->w, f->rs, &te.env, "Subject: a\r\n\r\nADN1.NSBN3\r\n",
		     26, 26, &o);
	assert_string_equal(o.ids, "");
}

/* test_two_messages_in_progress_on_one_worker_do_not_mix - sessions */
static void test_two_messages_in_progress_on_one_worker_do_not_mix(
	void **state)
{
	struct fixture *f = *state;
	static struct test_env te;
	static const char head[] = "Subject: a\r\n\r\n";
	static const char gtube[] =
		"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";
	struct engine_msg *a, *b;
	struct verdict va, vb;
	size_t  half = sizeof(gtube) / 2;

	env_default(&te);
	a = engine_msg_begin(f->w, f->rs, &te.env);
	b = engine_msg_begin(f->w, f->rs, &te.env);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);
	/* a gets GTUBE whole, interleaved with b getting only its halves
	 * in the wrong order: streams must stay per message */
	assert_int_equal(engine_msg_feed(a, head, sizeof(head) - 1), 0);
	assert_int_equal(engine_msg_feed(b, head, sizeof(head) - 1), 0);
	assert_int_equal(engine_msg_feed(a, gtube, half), 0);
	assert_int_equal(engine_msg_feed(b, gtube + half,
					 sizeof(gtube) - 1 - half), 0);
	assert_int_equal(engine_msg_feed(a, gtube + half,
					 sizeof(gtube) - 1 - half), 0);
	assert_int_equal(engine_msg_feed(b, gtube, half), 0);
	assert_int_equal(engine_msg_end(a, &va), 0);
	assert_int_equal(engine_msg_end(b, &vb), 0);
	assert_int_equal(va.action, ACT_REJECT);
	assert_int_equal(vb.nmatches, 0);
	assert_int_equal(vb.action, ACT_PASS);
	engine_msg_free(a);
	engine_msg_free(b);
}

/* scan_with - one message under a rule set of its own, whole */
static void scan_with(const char *rules, const struct envelope *env,
		      const char *msg, struct outcome *o, char *reroute,
		      char *bcc)
{
	struct rules_error err;
	struct ruleset *rs = rules_load_buffer("t.rules", rules, strlen(rules),
					       &err);
	struct engine_worker *w;
	struct engine_msg *m;
	struct verdict v;

	if (rs == NULL)
		fail_msg("%s:%d: %s", err.file, err.line, err.msg);
	w = engine_worker_new(rs);
	assert_non_null(w);
	m = engine_msg_begin(w, rs, env);
	assert_non_null(m);
	assert_int_equal(engine_msg_feed(m, msg, strlen(msg)), 0);
	assert_int_equal(engine_msg_end(m, &v), 0);
	memset(o, 0, sizeof(*o));
	o->action = v.action;
	o->score = v.score;
	for (size_t i = 0; i < v.nmatches; i++) {
		strncat(o->ids, v.matches[i].rule_id,
			sizeof(o->ids) - strlen(o->ids) - 2);
		strcat(o->ids, " ");
	}
	if (reroute != NULL)
		strcpy(reroute, v.reroute);
	if (bcc != NULL)
		strcpy(bcc, v.bcc);
	engine_msg_free(m);
	engine_worker_free(w);
	rules_free(rs);
}

/* attachment_msg - a message with one base64 attachment "U0VDUkVU" */
static void attachment_msg(char *buf, size_t size, const char *filename)
{
	snprintf(buf, size,
		 "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_from_the_WINNER?=\r\n"
		 "MIME-Version: 1.0\r\n"
		 "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
		 "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
		 "--b\r\nContent-Type: application/octet-stream\r\n"
		 "Content-Transfer-Encoding: base64\r\n"
		 "Content-Disposition: attachment; filename=\"%s\"\r\n\r\n"
		 "U0VDUkVU\r\n--b--\r\n", filename);
}

static const char cond_rules[] =
	"rule SECRET_BIN\n scope attachment\n literal SECRET\n ext bin\n"
	" score 7\nend\n"
	"rule ISO_TO_MANY\n scope message\n ext iso\n rcpt-count-min 2\n"
	" score 1\n reroute review@example.com\n bcc audit@example.com\nend\n"
	"rule SUBJ_GRUSS\n scope header\n field subject\n"
	" regex /grüße from the winner/iu\n score 2\nend\n";

/* test_pattern_rule_with_condition_needs_both - literal and extension */
static void test_pattern_rule_with_condition_needs_both(void **state)
{
	static const char *one[] = {"a@example.net"};
	struct envelope env = {"", "", "", "", one, 1};
	char    msg[1024];
	struct outcome o;

	(void) state;
	attachment_msg(msg, sizeof(msg), "data.BIN");
	scan_with(cond_rules, &env, msg, &o, NULL, NULL);
	assert_true(has_id(o.ids, "SECRET_BIN"));
	attachment_msg(msg, sizeof(msg), "data.dat");
	scan_with(cond_rules, &env, msg, &o, NULL, NULL);
	assert_false(has_id(o.ids, "SECRET_BIN"));
}

/* test_message_rule_any_attachment_and_relay_addresses - reroute, bcc */
static void test_message_rule_any_attachment_and_relay_addresses(void **state)
{
	static const char *two[] = {"a@example.net", "b@example.net"};
	struct envelope env = {"", "", "", "", two, 2};
	char    msg[1024], reroute[256], bcc[256];
	struct outcome o;

	(void) state;
	attachment_msg(msg, sizeof(msg), "disk.iso");
	scan_with(cond_rules, &env, msg, &o, reroute, bcc);
	assert_true(has_id(o.ids, "ISO_TO_MANY"));
	assert_string_equal(reroute, "review@example.com");
	assert_string_equal(bcc, "audit@example.com");
	env.nrcpt = 1;
	scan_with(cond_rules, &env, msg, &o, reroute, bcc);
	assert_false(has_id(o.ids, "ISO_TO_MANY"));
	assert_string_equal(reroute, "");
}

/* test_header_rule_sees_the_decoded_utf8_value - RFC 2047 undone */
static void test_header_rule_sees_the_decoded_utf8_value(void **state)
{
	struct envelope env = {"", "", "", "", NULL, 0};
	char    msg[1024];
	struct outcome o;

	(void) state;
	attachment_msg(msg, sizeof(msg), "x.txt");
	scan_with(cond_rules, &env, msg, &o, NULL, NULL);
	assert_true(has_id(o.ids, "SUBJ_GRUSS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_rule_fires_on_its_message_and_not_on_benign),
		cmocka_unit_test(test_eicar_base64_attachment_in_one_byte_chunks_is_rejected),
		cmocka_unit_test(test_verdict_names_policy_and_reply),
		cmocka_unit_test(test_worker_is_reusable_after_an_abandoned_message),
		cmocka_unit_test(test_two_messages_in_progress_on_one_worker_do_not_mix),
		cmocka_unit_test(test_pattern_rule_with_condition_needs_both),
		cmocka_unit_test(test_message_rule_any_attachment_and_relay_addresses),
		cmocka_unit_test(test_header_rule_sees_the_decoded_utf8_value),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
