/*
 * msglog.c - one JSON line per message
 *
 *	See msglog.h. The line is built in memory (open_memstream) and
 *	written with one fwrite.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "msglog.h"

/* put_str - "name":"value" with a leading comma */
static void put_str(FILE *f, const char *name, const char *val)
{
	fprintf(f, ",\"%s\":", name);
	if (val == NULL)
		fputs("null", f);
	else
		json_string(f, val, strlen(val));
}

/* msglog_write - the message's line */
void msglog_write(FILE *out, const struct msglog_entry *e)
{
	const struct envelope *env = e->env;
	const struct verdict *v = e->verdict;
	struct timespec ts;
	struct tm tm;
	char when[40], *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if ((f = open_memstream(&buf, &len)) == NULL)
		return;
	fprintf(f, "{\"time\":\"%s.%03ldZ\"", when, ts.tv_nsec / 1000000);
	put_str(f, "qid", e->qid);
	if (e->upstream_qid && e->upstream_qid[0])
		put_str(f, "upstream_qid", e->upstream_qid);
	put_str(f, "client", env->client_addr);
	fprintf(f, ",\"client_port\":%u", e->client_port);
	put_str(f, "client_name", env->client_name);
	put_str(f, "helo", env->helo);
	put_str(f, "from", env->mail_from);
	fputs(",\"rcpt\":[", f);
	for (i = 0; i < env->nrcpt; i++) {
		if (i)
			putc(',', f);
		json_string(f, env->rcpt[i], strlen(env->rcpt[i]));
	}
	fprintf(f, "],\"size\":%llu", (unsigned long long)e->size);
	put_str(f, "action", e->action);
	fprintf(f, ",\"score\":%d,\"rules\":[", v ? v->score : 0);
	for (i = 0; v && i < v->nmatches; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		json_string(f, v->matches[i].rule_id, strlen(v->matches[i].rule_id));
		fprintf(f, ",\"scope\":\"%s\",\"part\":%d}",
			scope_name(v->matches[i].scope), v->matches[i].part);
	}
	fputs("]", f);
	put_str(f, "policy", v ? v->policy : NULL);
	fprintf(f, ",\"reply_code\":%d", e->reply_code);
	put_str(f, "reply", e->reply_text);
	put_str(f, "downstream", e->downstream);
	put_str(f, "rules_version", e->rules_version);
	if (e->note)
		put_str(f, "note", e->note);
	if (e->tls_version && e->tls_version[0]) {
		fputs(",\"tls\":{\"version\":", f);
		json_string(f, e->tls_version, strlen(e->tls_version));
		fputs(",\"cipher\":", f);
		json_string(f, e->tls_cipher ? e->tls_cipher : "",
			    e->tls_cipher ? strlen(e->tls_cipher) : 0);
		putc('}', f);
	}
	fprintf(f, ",\"ms\":{\"receive\":%.3f,\"scan\":%.3f,\"relay\":%.3f,"
		"\"total\":%.3f}}\n", e->receive_ms, e->scan_ms, e->relay_ms,
		e->total_ms);
	if (fclose(f) == 0) {
		fwrite(buf, 1, len, out);
		fflush(out);
	}
	free(buf);
}
