/*
 * test_tls_conn.c - control/tls.c and control/tls_conn.c without sockets:
 *	configuration keys, required-TLS networks, the start-up checks,
 *	reload publication, and handshakes over memory BIOs against an
 *	in-process OpenSSL client (success, garbage, abandon, pool limit,
 *	input bound). Certificates are made with the openssl command in a
 *	temporary directory at the start of the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/ssl.h>

#include "tls.h"

static char dir[] = "/tmp/mxgate-tls-unit-XXXXXX";
static char cert[128], key[128], key2[128];

/* make_certs - two EC key pairs, one certificate */
static int make_certs(void **state)
{
	char cmd[2048];

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cert, sizeof(cert), "%s/c.pem", dir);
	snprintf(key, sizeof(key), "%s/k.pem", dir);
	snprintf(key2, sizeof(key2), "%s/k2.pem", dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1"
		 " -nodes -keyout %s -out %s -days 2 -subj /CN=unit.test 2>/dev/null &&"
		 " openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1"
		 " -out %s 2>/dev/null", key, cert, key2);
	return system(cmd) == 0 ? 0 : -1;
}

/* remove_certs - the temporary directory */
static int remove_certs(void **state)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* config - defaults with our files */
static void config(struct tls_config *c)
{
	tls_config_default(c);
	snprintf(c->cert_file, sizeof(c->cert_file), "%s", cert);
	snprintf(c->key_file, sizeof(c->key_file), "%s", key);
	c->sessions_max = 2;
}

static void test_unknown_and_bad_keys_are_refused_with_their_name(void **state)
{
	struct tls_config c;
	char err[256];

	tls_config_default(&c);
	assert_int_equal(tls_config_set(&c, "tls_bogus", "1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_bogus"));
	assert_int_equal(tls_config_set(&c, "tls_min_version", "TLSv1.1", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TLSv1.1"));
	assert_int_equal(tls_config_set(&c, "tls_sessions", "0", err, sizeof(err)), -1);
	assert_int_equal(tls_config_set(&c, "tls_handshake_timeout", "5s", err, sizeof(err)), -1);
	assert_int_equal(tls_config_set(&c, "tls_sessions", "7", err, sizeof(err)), 0);
	assert_int_equal(c.sessions_max, 7);
	assert_int_equal(tls_config_set(&c, "tls_min_version", "TLSv1.3", err, sizeof(err)), 0);
	assert_string_equal(c.min_version, "TLSv1.3");
}

static void test_required_networks_match_by_prefix(void **state)
{
	struct tls_config c;
	struct tls_server *ts;
	char err[256];

	config(&c);
	snprintf(c.require_nets, sizeof(c.require_nets), "198.18.0.0/15, 10.0.0.1");
	ts = tls_server_new(&c, 1, err, sizeof(err));
	assert_non_null(ts);
	assert_true(tls_required_for(ts, "198.19.255.255"));
	assert_true(tls_required_for(ts, "198.18.0.1"));
	assert_false(tls_required_for(ts, "198.20.0.1"));
	assert_true(tls_required_for(ts, "10.0.0.1"));
	assert_false(tls_required_for(ts, "10.0.0.2"));
	assert_false(tls_required_for(ts, "::1"));
	tls_server_free(ts);
	snprintf(c.require_nets, sizeof(c.require_nets), "198.18.0.0/33");
	assert_null(tls_server_new(&c, 1, err, sizeof(err)));
	assert_non_null(strstr(err, "tls_require_nets: '198.18.0.0'"));
}

static void test_mismatched_key_is_refused_naming_both_files(void **state)
{
	struct tls_config c;
	char err[512], want[1200];

	config(&c);
	snprintf(c.key_file, sizeof(c.key_file), "%s", key2);
	assert_null(tls_server_new(&c, 1, err, sizeof(err)));
	snprintf(want, sizeof(want), "tls_key %s: key does not match the certificate"
		 " in tls_cert %s", key2, cert);
	assert_string_equal(err, want);
}

/* ---- an in-process client over memory BIOs ---- */

struct client {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO *rbio, *wbio;
};

/* client_new - a TLS client that does not verify */
static void client_new(struct client *c)
{
	c->ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(c->ctx);
	SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
	c->ssl = SSL_new(c->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_mem_eof_return(c->wbio, -1);
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_connect_state(c->ssl);
}

/* client_free - all of it */
static void client_free(struct client *c)
{
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
}

/* shuttle - move ciphertext both ways once; the server's handshake result */
static int shuttle(struct client *c, struct tls_conn *tc)
{
	uint8_t buf[16384];
	const uint8_t *p;
	size_t n;
	int k, r;

	SSL_do_handshake(c->ssl);
	while ((k = BIO_read(c->wbio, buf, sizeof(buf))) > 0)
		assert_int_equal(tls_conn_feed(tc, buf, (size_t)k), (size_t)k);
	r = tls_conn_handshake(tc);
	while ((n = tls_conn_output(tc, &p)) > 0) {
		BIO_write(c->rbio, p, (int)n);
		tls_conn_output_done(tc, n);
	}
	return r;
}

static void test_handshake_then_data_both_ways(void **state)
{
	struct tls_config c;
	struct tls_server *ts;
	struct tls_worker *w;
	struct tls_conn *tc;
	struct client cl;
	char err[256], buf[64];
	const uint8_t *p;
	int r = 0, i;

	config(&c);
	ts = tls_server_new(&c, 1, err, sizeof(err));
	assert_non_null(ts);
	w = tls_worker_new(ts, 0);
	assert_non_null(w);
	tc = tls_conn_get(w);
	assert_non_null(tc);
	client_new(&cl);
	for (i = 0; i < 5 && r != 1; i++)
		r = shuttle(&cl, tc);
	assert_int_equal(r, 1);
	assert_int_equal(SSL_do_handshake(cl.ssl), 1);
	assert_string_equal(tls_conn_version(tc), "TLSv1.3");
	assert_string_equal(tls_conn_cipher(tc), "TLS_AES_256_GCM_SHA384");
	/* client to server */
	assert_int_equal(SSL_write(cl.ssl, "EHLO x\r\n", 8), 8);
	shuttle(&cl, tc);
	assert_int_equal(tls_conn_peek(tc, &p), 8);
	assert_memory_equal(p, "EHLO x\r\n", 8);
	tls_conn_consume(tc, 8);
	assert_int_equal(tls_conn_peek(tc, &p), 0);
	/* server to client */
	assert_int_equal(tls_conn_write(tc, (const uint8_t *)"250 ok\r\n", 8), 8);
	shuttle(&cl, tc);
	assert_int_equal(SSL_read(cl.ssl, buf, sizeof(buf)), 8);
	assert_memory_equal(buf, "250 ok\r\n", 8);
	assert_false(tls_conn_failed(tc));
	tls_conn_put(w, tc);
	assert_int_equal(tls_worker_counters(w)->handshakes, 1);
	assert_int_equal(tls_worker_counters(w)->abandoned, 0);
	client_free(&cl);
	tls_worker_free(w);
	tls_server_free(ts);
}

static void test_garbage_fails_the_handshake_and_is_counted(void **state)
{
	struct tls_config c;
	struct tls_server *ts;
	struct tls_worker *w;
	struct tls_conn *tc;
	char err[256];
	static const uint8_t junk[] = "RSET\r\nMAIL FROM:<x@y>\r\n";

	config(&c);
	ts = tls_server_new(&c, 1, err, sizeof(err));
	w = tls_worker_new(ts, 0);
	tc = tls_conn_get(w);
	assert_int_equal(tls_conn_feed(tc, junk, sizeof(junk) - 1), sizeof(junk) - 1);
	assert_int_equal(tls_conn_handshake(tc), -1);
	assert_true(tls_conn_failed(tc));
	assert_int_equal(tls_conn_write(tc, junk, 4), 0);
	tls_conn_put(w, tc);
	assert_int_equal(tls_worker_counters(w)->failed, 1);
	assert_int_equal(tls_worker_counters(w)->abandoned, 0);
	tls_worker_free(w);
	tls_server_free(ts);
}

static void test_pool_is_bounded_and_abandon_is_counted(void **state)
{
	struct tls_config c;
	struct tls_server *ts;
	struct tls_worker *w;
	struct tls_conn *a, *b;
	char err[256];
	static uint8_t big[TLS_IN_MAX + 100];

	config(&c);	/* sessions_max 2 */
	ts = tls_server_new(&c, 1, err, sizeof(err));
	w = tls_worker_new(ts, 0);
	a = tls_conn_get(w);
	b = tls_conn_get(w);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(tls_conn_get(w));
	assert_int_equal(tls_worker_counters(w)->no_slot, 1);
	/* unprocessed ciphertext is bounded: the rest stays with TCP */
	memset(big, 0x16, sizeof(big));
	assert_int_equal(tls_conn_feed(a, big, sizeof(big)), TLS_IN_MAX);
	assert_int_equal(tls_conn_feed(a, big, 10), 0);
	tls_conn_put(w, a);	/* never finished: abandoned */
	tls_conn_put(w, b);
	assert_int_equal(tls_worker_counters(w)->abandoned, 2);
	assert_non_null(a = tls_conn_get(w));
	tls_conn_put(w, a);
	tls_worker_free(w);
	tls_server_free(ts);
}

static void test_reload_is_picked_up_by_the_worker_and_bad_files_keep_the_old(void **state)
{
	struct tls_config c;
	struct tls_server *ts;
	struct tls_worker *w;
	char err[512], cmd[2200];

	config(&c);
	ts = tls_server_new(&c, 2, err, sizeof(err));
	assert_non_null(ts);
	assert_int_equal(tls_generation(ts), 1);
	w = tls_worker_new(ts, 1);
	assert_int_equal(tls_worker_counters(w)->reloads, 0);
	assert_int_equal(tls_reload(ts, err, sizeof(err)), 0);
	assert_int_equal(tls_generation(ts), 2);
	tls_worker_refresh(w);
	assert_int_equal(tls_worker_counters(w)->reloads, 1);
	tls_worker_refresh(w);	/* nothing new */
	assert_int_equal(tls_worker_counters(w)->reloads, 1);
	/* a key that does not match: refused, nothing published */
	snprintf(cmd, sizeof(cmd), "cp %s %s.good && cp %s %s", key, key, key2, key);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tls_reload(ts, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key does not match"));
	snprintf(cmd, sizeof(cmd), "mv %s.good %s", key, key);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(tls_generation(ts), 2);
	tls_worker_refresh(w);
	assert_int_equal(tls_worker_counters(w)->reloads, 1);
	tls_worker_free(w);
	tls_server_free(ts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_and_bad_keys_are_refused_with_their_name),
		cmocka_unit_test(test_required_networks_match_by_prefix),
		cmocka_unit_test(test_mismatched_key_is_refused_naming_both_files),
		cmocka_unit_test(test_handshake_then_data_both_ways),
		cmocka_unit_test(test_garbage_fails_the_handshake_and_is_counted),
		cmocka_unit_test(test_pool_is_bounded_and_abandon_is_counted),
		cmocka_unit_test(test_reload_is_picked_up_by_the_worker_and_bad_files_keep_the_old),
	};

	return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
