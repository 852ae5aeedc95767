/*
 * test_rulesmgr.c - rule publishing: versions, refusals, rollback, engine
 *	generations, signed bundles
 *
 * DESCRIPTION
 *	Each test works in a fresh temporary folder: rule directories are
 *	written there, state_dir is there. The swap hook is a fake that
 *	records what it was given (the real ones are dp/rules_rcu.c and
 *	dp/rules_sock.c, exercised by the live and socket-mode tests).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bundle.h"
#include "engine.h"
#include "rules.h"
#include "rulesmgr.h"

struct fixture {
	char    tmp[256];
	char    state[300];
	struct ruleset *start;		/* the daemon's start-up set */
	struct ruleset *running;	/* what the fake workers run */
	int     swaps;
	int     refuse;			/* the hook says no */
	struct rulesmgr *rm;
	FILE   *log;
	char   *logbuf;
	size_t  loglen;
};

/* write_rules - dir/NAME with the rules for tokens[0..n) */
static void write_rules(const char *dir, int n, const char *extra)
{
	char    path[512];
	FILE   *f;

	mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/10-swap.rules", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "rule BASE_TOKEN\n  scope body\n  literal BASE-TOKEN\n"
		"  action reject\nend\n");
	for (int i = 1; i <= n; i++)
		fprintf(f, "rule SWAP_%d\n  scope body\n  literal SWAP-%d-\n"
			"  action reject\n  description \"swap %d\"\nend\n", i, i, i);
	if (extra)
		fputs(extra, f);
	fclose(f);
}

/* fake_swap - the workers take next at once */
static int fake_swap(void *ctx, struct ruleset *next, struct ruleset **old)
{
	struct fixture *fx = ctx;

	if (fx->refuse) {
		errno = EBUSY;
		return -1;
	}
	*old = fx->running;
	fx->running = next;
	fx->swaps++;
	return 0;
}

/* setup - a manager running the set of tmp/a (BASE only) */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct rulesmgr_config cfg;
	struct rulesmgr_hooks hooks = { fake_swap, fx };
	struct rules_error err;
	char    dir[300], e[256];

	snprintf(fx->tmp, sizeof(fx->tmp), "/tmp/test_rulesmgr.XXXXXX");
	assert_non_null(mkdtemp(fx->tmp));
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->tmp);
	snprintf(dir, sizeof(dir), "%s/a", fx->tmp);
	write_rules(dir, 0, NULL);
	assert_non_null(fx->start = rules_load_dir(dir, &err));
	fx->running = fx->start;
	assert_non_null(fx->log = open_memstream(&fx->logbuf, &fx->loglen));
	rulesmgr_config_default(&cfg);
	cfg.daemon = "test";
	cfg.state_dir = fx->state;
	cfg.rules_dir = strdup(dir);
	cfg.rules = fx->start;
	cfg.log = fx->log;
	assert_non_null(fx->rm = rulesmgr_new(&cfg, &hooks, NULL, e, sizeof(e)));
	free((char *)cfg.rules_dir);
	*state = fx;
	return 0;
}

/* teardown - manager, sets, folder */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	char    cmd[300];

	rulesmgr_free(fx->rm);
	rules_free(fx->start);
	fclose(fx->log);
	free(fx->logbuf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->tmp);
	assert_int_equal(system(cmd), 0);
	free(fx);
	return 0;
}

/* publish_n - publish tmp/sN (BASE and SWAP_1..n) */
static int publish_n(struct fixture *fx, int n, char *v, size_t vlen,
		     struct rules_error *err)
{
	char    dir[300];

	snprintf(dir, sizeof(dir), "%s/s%d", fx->tmp, n);
	write_rules(dir, n, NULL);
	return rulesmgr_publish_dir(fx->rm, dir, "test", v, vlen, err);
}

static void test_publish_makes_the_new_version_run_and_keeps_a_copy(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	char    v0[RULESMGR_VERSION_MAX], v1[RULESMGR_VERSION_MAX], path[600];
	struct stat st;

	snprintf(v0, sizeof(v0), "%s", rulesmgr_version(fx->rm));
	assert_int_equal(publish_n(fx, 1, v1, sizeof(v1), &err), 0);
	assert_string_not_equal(v0, v1);
	assert_string_equal(rulesmgr_version(fx->rm), v1);
	assert_string_equal(rules_version(fx->running), v1);
	assert_int_equal(fx->swaps, 1);
	snprintf(path, sizeof(path), "%s/rules/%s/10-swap.rules", fx->state, v1);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/rules/%s/10-swap.rules", fx->state, v0);
	assert_int_equal(stat(path, &st), 0);
	fflush(fx->log);
	assert_non_null(strstr(fx->logbuf, "rules: published "));
	assert_non_null(strstr(fx->logbuf, "(2 rules) in "));
}

static void test_refused_set_keeps_the_running_version_and_says_where(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	char    v0[RULESMGR_VERSION_MAX], v[RULESMGR_VERSION_MAX], dir[300];

	snprintf(v0, sizeof(v0), "%s", rulesmgr_version(fx->rm));
	snprintf(dir, sizeof(dir), "%s/bad", fx->tmp);
	write_rules(dir, 1, "rule BROKEN\n  scope body\n  regex (unclosed\nend\n");
	assert_int_equal(rulesmgr_publish_dir(fx->rm, dir, "test", v, sizeof(v),
					      &err), -1);
	assert_string_equal(v, v0);
	assert_string_equal(rulesmgr_version(fx->rm), v0);
	assert_int_equal(fx->swaps, 0);
	assert_non_null(strstr(err.file, "10-swap.rules"));
	assert_true(err.line > 0);
	fflush(fx->log);
	assert_non_null(strstr(fx->logbuf, "rules: refused "));
}

static void test_workers_refusing_a_set_changes_nothing(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	char    v0[RULESMGR_VERSION_MAX], v[RULESMGR_VERSION_MAX];
	char   *json;

	snprintf(v0, sizeof(v0), "%s", rulesmgr_version(fx->rm));
	fx->refuse = 1;
	assert_int_equal(publish_n(fx, 2, v, sizeof(v), &err), -1);
	assert_string_equal(rulesmgr_version(fx->rm), v0);
	assert_ptr_equal(fx->running, fx->start);
	assert_non_null(strstr(err.msg, "refused"));
	assert_int_equal(rulesmgr_versions_json(fx->rm, &json), 0);
	assert_null(strstr(json, "},{"));	/* still one version */
	free(json);
}

static void test_rollback_returns_to_the_previous_version_and_walks_back(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	char    v0[RULESMGR_VERSION_MAX], v1[RULESMGR_VERSION_MAX];
	char    v2[RULESMGR_VERSION_MAX], v[RULESMGR_VERSION_MAX];
	char   *json;

	snprintf(v0, sizeof(v0), "%s", rulesmgr_version(fx->rm));
	assert_int_equal(publish_n(fx, 1, v1, sizeof(v1), &err), 0);
	assert_int_equal(publish_n(fx, 2, v2, sizeof(v2), &err), 0);
	assert_int_equal(rulesmgr_rollback(fx->rm, "test", v, sizeof(v), &err), 0);
	assert_string_equal(v, v1);
	assert_string_equal(rules_version(fx->running), v1);
	assert_int_equal(rulesmgr_rollback(fx->rm, "test", v, sizeof(v), &err), 0);
	assert_string_equal(v, v0);
	assert_int_equal(rulesmgr_rollback(fx->rm, "test", v, sizeof(v), &err), -1);
	assert_string_equal(rulesmgr_version(fx->rm), v0);
	assert_int_equal(rulesmgr_versions_json(fx->rm, &json), 0);
	assert_non_null(strstr(json, v0));
	assert_null(strstr(json, v2));
	free(json);
}

static void test_sighup_request_publishes_and_answers(void **state)
{
	struct fixture *fx = *state;
	char    path[600], dir[300], line[256];
	FILE   *f;

	snprintf(dir, sizeof(dir), "%s/s3", fx->tmp);
	write_rules(dir, 3, NULL);
	snprintf(path, sizeof(path), "%s/rules/request", fx->state);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "publish %s\n", dir);
	fclose(f);
	assert_int_equal(rulesmgr_hup(fx->rm), 0);
	snprintf(path, sizeof(path), "%s/rules/reply", fx->state);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(strncmp(line, "ok ", 3), 0);
	assert_int_equal(strncmp(line + 3, rulesmgr_version(fx->rm), 16), 0);
	assert_int_equal(fx->swaps, 1);
}

static void test_rules_json_lists_the_running_rules(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	char    v[RULESMGR_VERSION_MAX];
	char   *json;

	assert_int_equal(publish_n(fx, 1, v, sizeof(v), &err), 0);
	assert_int_equal(rulesmgr_rules_json(fx->rm, &json), 0);
	assert_non_null(strstr(json, "\"SWAP_1\""));
	assert_non_null(strstr(json, v));
	free(json);
}

/* verdict_of - one message with body text through worker w */
static enum action verdict_of(struct engine_msg *m, const char *body)
{
	char    msg[512];
	struct verdict v;
	enum action a;

	snprintf(msg, sizeof(msg), "Subject: t\r\n\r\n%s\r\n", body);
	assert_int_equal(engine_msg_feed(m, msg, strlen(msg)), 0);
	assert_int_equal(engine_msg_end(m, &v), 0);
	a = v.action;
	engine_msg_free(m);
	return a;
}

static void test_message_in_progress_ends_on_the_set_it_began_with(void **state)
{
	struct fixture *fx = *state;
	struct rules_error err;
	struct engine_worker *w;
	struct engine_gen *proto, *g, *old;
	struct engine_msg *before, *after;
	struct ruleset *next;
	char    dir[300];

	snprintf(dir, sizeof(dir), "%s/s1", fx->tmp);
	write_rules(dir, 1, NULL);
	assert_non_null(next = rules_load_dir(dir, &err));
	assert_non_null(w = engine_worker_new(fx->start));
	assert_non_null(before = engine_msg_begin(w, NULL, NULL));
	/* control's part: a scratch grown for the new set, one clone per worker */
	assert_non_null(proto = engine_gen_new(next, 0));
	assert_non_null(g = engine_gen_clone(proto, 2));
	engine_gen_free(proto);
	old = engine_worker_switch(w, g);
	assert_ptr_equal(engine_worker_ruleset(w), next);
	assert_non_null(after = engine_msg_begin(w, NULL, NULL));
	assert_int_equal(engine_gen_open(old), 1);
	assert_int_equal(verdict_of(before, "hello SWAP-1- there"), ACT_PASS);
	assert_int_equal(engine_gen_open(old), 0);
	assert_int_equal(verdict_of(after, "hello SWAP-1- there"), ACT_REJECT);
	engine_gen_free(old);
	/* the old rule set can go once its generation is gone */
	assert_non_null(after = engine_msg_begin(w, NULL, NULL));
	assert_int_equal(verdict_of(after, "BASE-TOKEN"), ACT_REJECT);
	engine_worker_free(w);
	rules_free(next);
}

/* keypair - an Ed25519 key pair in PEM files */
static void keypair(const char *priv, const char *pub)
{
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY *k = NULL;
	FILE   *f;

	assert_non_null(kc);
	assert_int_equal(EVP_PKEY_keygen_init(kc), 1);
	assert_int_equal(EVP_PKEY_keygen(kc, &k), 1);
	assert_non_null(f = fopen(priv, "w"));
	assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
	assert_non_null(f = fopen(pub, "w"));
	assert_int_equal(PEM_write_PUBKEY(f, k), 1);
	fclose(f);
	EVP_PKEY_free(k);
	EVP_PKEY_CTX_free(kc);
}

static void test_bundle_signature_covers_every_byte(void **state)
{
	struct fixture *fx = *state;
	char    priv[300], pub[300], dir[300], out[300], e[512];
	unsigned char sig[BUNDLE_SIG_LEN];
	struct rules_error err;
	struct ruleset *rs;
	char   *buf;
	size_t  len;

	snprintf(priv, sizeof(priv), "%s/key.pem", fx->tmp);
	snprintf(pub, sizeof(pub), "%s/pub.pem", fx->tmp);
	keypair(priv, pub);
	snprintf(dir, sizeof(dir), "%s/s4", fx->tmp);
	write_rules(dir, 4, NULL);
	assert_int_equal(bundle_pack(dir, &buf, &len, e, sizeof(e)), 0);
	assert_int_equal(bundle_sign(buf, len, priv, sig, e, sizeof(e)), 0);
	assert_int_equal(bundle_verify(buf, len, sig, sizeof(sig), pub, e,
				       sizeof(e)), 0);
	buf[len / 2] ^= 1;
	assert_int_equal(bundle_verify(buf, len, sig, sizeof(sig), pub, e,
				       sizeof(e)), -1);
	assert_non_null(strstr(e, "bad signature"));
	buf[len / 2] ^= 1;
	assert_int_equal(bundle_verify(buf, len - 1, sig, sizeof(sig), pub, e,
				       sizeof(e)), -1);
	snprintf(out, sizeof(out), "%s/out", fx->tmp);
	mkdir(out, 0700);
	assert_int_equal(bundle_unpack(buf, len, out, e, sizeof(e)), 0);
	assert_non_null(rs = rules_load_dir(out, &err));
	assert_int_equal(rules_count(rs), 5);
	rules_free(rs);
	free(buf);
}

static void test_bundle_unpack_refuses_what_a_signer_should_never_send(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = {
		"mxgate-rules-bundle 1\nfile ../escape.rules 1\nA\nend\n",
		"mxgate-rules-bundle 1\nfile .hidden.rules 1\nA\nend\n",
		"mxgate-rules-bundle 1\nfile a/b.rules 1\nA\nend\n",
		"mxgate-rules-bundle 1\nfile a.rules 100\nshort",
		"mxgate-rules-bundle 1\nfile a.rules 1\nAend\ntrailing",
		"mxgate-rules-bundle 1\nfile a.rules -1\nend\n",
		"mxgate-rules-bundle 1\nend\n",
		"not a bundle\n",
		"mxgate-rules-bundle 1\nfile a.rules 1\nA",
	};
	char    out[300], e[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(out, sizeof(out), "%s/u%zu", fx->tmp, i);
		mkdir(out, 0700);
		assert_int_equal(bundle_unpack(bad[i], strlen(bad[i]), out, e,
					       sizeof(e)), -1);
	}
	snprintf(out, sizeof(out), "%s/escape.rules", fx->tmp);
	assert_int_equal(access(out, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_publish_makes_the_new_version_run_and_keeps_a_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_set_keeps_the_running_version_and_says_where, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workers_refusing_a_set_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rollback_returns_to_the_previous_version_and_walks_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sighup_request_publishes_and_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rules_json_lists_the_running_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_in_progress_ends_on_the_set_it_began_with, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_signature_covers_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bundle_unpack_refuses_what_a_signer_should_never_send, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
