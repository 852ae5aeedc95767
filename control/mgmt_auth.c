/*
 * mgmt_auth.c - bearer tokens, stored as SHA-256 hashes
 *
 *	See mgmt.h. The token itself is never written anywhere: a stolen
 *	tokens file does not give access. Hashes are compared with
 *	CRYPTO_memcmp over every stored token, so the time taken says
 *	nothing about how close a guess was.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "mgmt.h"

#define MGMT_TOKEN_LINE_MAX	256
#define MGMT_TOKEN_HEADER_MAX	512	/* longest token we hash */

/* hexval - one hex digit, -1 if not */
static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* sha256 - the digest of s[0..n) */
static int sha256(const void *s, size_t n, unsigned char out[32])
{
	unsigned int len = 0;

	return EVP_Digest(s, n, out, &len, EVP_sha256(), NULL) == 1 && len == 32
	       ? 0 : -1;
}

/* load - (re)read the tokens file when it changed */
static void load(struct mgmt_tokens *t)
{
	char line[MGMT_TOKEN_LINE_MAX];
	struct stat st;
	FILE *fp;

	if (stat(t->path, &st) < 0) {
		t->n = 0;
		return;
	}
	if (st.st_mtim.tv_sec == t->mtime.tv_sec && st.st_mtim.tv_nsec == t->mtime.tv_nsec
	    && st.st_size == t->size)
		return;
	if ((fp = fopen(t->path, "r")) == NULL) {
		t->n = 0;
		return;
	}
	t->mtime = st.st_mtim;
	t->size = st.st_size;
	t->n = 0;
	while (fgets(line, sizeof(line), fp) && t->n < MGMT_TOKENS_MAX) {
		char name[MGMT_TOKEN_NAME_MAX], hex[80];
		unsigned i;

		if (line[0] == '#' || sscanf(line, "%63s %79s", name, hex) != 2
		    || strlen(hex) != 64)
			continue;
		for (i = 0; i < 32; i++) {
			int hi = hexval((unsigned char)hex[2 * i]);
			int lo = hexval((unsigned char)hex[2 * i + 1]);

			if (hi < 0 || lo < 0)
				break;
			t->tok[t->n].hash[i] = (unsigned char)(hi * 16 + lo);
		}
		if (i < 32)
			continue;
		snprintf(t->tok[t->n].name, sizeof(t->tok[t->n].name), "%s", name);
		t->n++;
	}
	fclose(fp);
}

/* mgmt_token_check - "Bearer TOKEN" against every stored hash */
int mgmt_token_check(struct mgmt_tokens *t, const char *header, char *name,
		     size_t namelen)
{
	unsigned char h[32];
	int found = -1;
	size_t n;

	load(t);
	if (header == NULL || strncasecmp(header, "Bearer ", 7) != 0)
		return 0;
	header += 7;
	while (*header == ' ')
		header++;
	n = strlen(header);
	if (n == 0 || n > MGMT_TOKEN_HEADER_MAX || sha256(header, n, h) < 0)
		return 0;
	for (unsigned i = 0; i < t->n; i++)
		if (CRYPTO_memcmp(h, t->tok[i].hash, sizeof(h)) == 0 && found < 0)
			found = (int)i;
	if (found < 0)
		return 0;
	snprintf(name, namelen, "%s", t->tok[found].name);
	return 1;
}

/* mgmt_token_add - a new random token; its hash appended under name */
int mgmt_token_add(const char *path, const char *name, char *token,
		   size_t toklen, char *err, size_t errlen)
{
	unsigned char raw[MGMT_TOKEN_BYTES], h[32];
	char line[MGMT_TOKEN_LINE_MAX];
	size_t n;
	int fd;

	if (!*name || strlen(name) >= MGMT_TOKEN_NAME_MAX
	    || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789._@-") != strlen(name)) {
		snprintf(err, errlen, "token name '%s': use letters, digits and"
			 " ._@- (at most %d)", name, MGMT_TOKEN_NAME_MAX - 1);
		return -1;
	}
	if (toklen < 2 * sizeof(raw) + 1) {
		snprintf(err, errlen, "token buffer too small");
		return -1;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		snprintf(err, errlen, "RAND_bytes for a new token failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(token + 2 * i, 3, "%02x", raw[i]);
	if (sha256(token, strlen(token), h) < 0) {
		snprintf(err, errlen, "SHA-256 of the new token failed");
		return -1;
	}
	n = (size_t)snprintf(line, sizeof(line), "%s ", name);
	for (size_t i = 0; i < sizeof(h); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%02x", h[i]);
	line[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "open tokens file %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, line, n) != (ssize_t)n || fsync(fd) < 0) {
		snprintf(err, errlen, "append to tokens file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	OPENSSL_cleanse(raw, sizeof(raw));
	return 0;
}
