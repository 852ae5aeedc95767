/*
 * engine_bench.cc - the engine against its Hyperscan ceiling
 *
 *	engine_bench --corpus DIR --rules DIR [google-benchmark flags]
 *
 * DESCRIPTION
 *	Loads every *.eml of the corpus directory into memory, grouped by the
 *	size class in its name (2k-*, 50k-*, 1m-*, mixed-*), and measures
 *	per size class and on the whole mixed set:
 *
 *	  BM_Ceiling  hs_scan_stream/hs_scan of the already-decoded bytes
 *	              (text parts with the body database, other leaves with
 *	              the attachment database, the raw message with the raw
 *	              database, header values and URLs with theirs): what
 *	              Hyperscan alone costs for this message;
 *	  BM_Engine   engine_msg_begin/feed/end on the raw message: parse,
 *	              decode, charset conversion, URL extraction, scanning
 *	              and the verdict.
 *
 *	Both report bytes of raw message processed, so GB/s compare the same
 *	work, and messages per second. The per-stream state size and the
 *	rule set compile time are reported as counters.
 */
#include <benchmark/benchmark.h>

#include <dirent.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "engine.h"
#include "mime.h"
#include "rules.h"
#include "ruleset.h"
}

namespace {

/* One decoded piece of a message and the scope that scans it. */
struct piece {
	enum scope scope;
	std::string bytes;
};

struct message {
	std::string raw;
	std::vector<piece> pieces;	/* for the ceiling */
};

struct corpus {
	std::map<std::string, std::vector<message>> by_class;
};

corpus g_corpus;
struct ruleset *g_rules;

/* collector - MIME callbacks that keep what the ceiling will scan */
struct collector {
	message *m;
	int cur_part = -1;
};

void on_header(void *ctx, const struct mime_part *, const char *,
	       size_t, const char *v, size_t vl)
{
	static_cast<collector *>(ctx)->m->pieces.push_back(
		{SCOPE_HEADER, std::string(v, vl)});
}

void on_text(void *ctx, const struct mime_part *p, const uint8_t *d,
	     size_t n)
{
	auto *c = static_cast<collector *>(ctx);
	if (c->cur_part != p->id || c->m->pieces.back().scope != SCOPE_BODY) {
		c->m->pieces.push_back({SCOPE_BODY, std::string()});
		c->cur_part = p->id;
	}
	c->m->pieces.back().bytes.append(reinterpret_cast<const char *>(d), n);
}

void on_data(void *ctx, const struct mime_part *p, const uint8_t *d,
	     size_t n)
{
	auto *c = static_cast<collector *>(ctx);
	if (p->is_text)
		return;		/* scanned as text, in UTF-8 */
	if (c->cur_part != p->id || c->m->pieces.back().scope != SCOPE_ATTACHMENT) {
		c->m->pieces.push_back({SCOPE_ATTACHMENT, std::string()});
		c->cur_part = p->id;
	}
	c->m->pieces.back().bytes.append(reinterpret_cast<const char *>(d), n);
}

void on_url(void *ctx, const struct mime_part *, const char *u, size_t n)
{
	static_cast<collector *>(ctx)->m->pieces.push_back(
		{SCOPE_URL, std::string(u, n)});
}

/* decode_pieces - run the MIME parser once, outside the timed loop */
void decode_pieces(message &m)
{
	struct mime_limits lim;
	struct mime_callbacks cb = {};
	collector c;

	mime_limits_default(&lim);
	cb.header = on_header;
	cb.part_data = on_data;
	cb.part_text = on_text;
	cb.url = on_url;
	c.m = &m;
	m.pieces.push_back({SCOPE_RAW, m.raw});
	struct mime_parser *p = mime_parser_new(&lim, &cb, &c);
	if (p == nullptr || mime_parser_feed(p, m.raw.data(), m.raw.size()) < 0
	    || mime_parser_finish(p) < 0) {
		fprintf(stderr, "engine_bench: MIME parser failed\n");
		exit(2);
	}
	mime_parser_free(p);
}

/* load_corpus - read DIR/NAME.eml, class = name up to the first '-' */
void load_corpus(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == nullptr) {
		fprintf(stderr, "engine_bench: cannot open corpus %s\n", dir);
		exit(2);
	}
	while ((e = readdir(d)) != nullptr) {
		std::string n = e->d_name;
		if (n.size() < 5 || n.substr(n.size() - 4) != ".eml")
			continue;
		std::ifstream f(std::string(dir) + "/" + n, std::ios::binary);
		std::stringstream ss;
		ss << f.rdbuf();
		message m;
		m.raw = ss.str();
		decode_pieces(m);
		std::string cls = n.substr(0, n.find('-'));
		g_corpus.by_class[cls].push_back(m);
	}
	closedir(d);
}

int count_match(unsigned, unsigned long long, unsigned long long, unsigned,
		void *ctx)
{
	++*static_cast<unsigned long *>(ctx);
	return 0;
}

/* BM_Ceiling - Hyperscan alone over the decoded bytes */
void BM_Ceiling(benchmark::State &st, const std::string &cls)
{
	const auto &msgs = g_corpus.by_class[cls];
	hs_scratch_t *scratch = nullptr;
	hs_stream_t *streams[SCOPE_COUNT] = {};
	unsigned long matches = 0;
	size_t bytes = 0;

	for (int s = 0; s < SCOPE_COUNT; s++) {
		const hs_database_t *db = ruleset_database(g_rules, (enum scope)s);
		if (db == nullptr)
			continue;
		if (hs_alloc_scratch(db, &scratch) != HS_SUCCESS) {
			st.SkipWithError("hs_alloc_scratch failed");
			return;
		}
		if ((s == SCOPE_BODY || s == SCOPE_ATTACHMENT || s == SCOPE_RAW)
		    && hs_open_stream(db, 0, &streams[s]) != HS_SUCCESS) {
			st.SkipWithError("hs_open_stream failed");
			return;
		}
	}
	for (auto _ : st) {
		for (const auto &m : msgs) {
			for (const auto &p : m.pieces) {
				const hs_database_t *db = ruleset_database(g_rules, p.scope);
				if (db == nullptr)
					continue;
				if (streams[p.scope] != nullptr) {
					hs_scan_stream(streams[p.scope], p.bytes.data(),
						       p.bytes.size(), 0, scratch,
						       count_match, &matches);
					hs_reset_stream(streams[p.scope], 0, scratch,
							count_match, &matches);
				} else {
					hs_scan(db, p.bytes.data(), p.bytes.size(), 0,
						scratch, count_match, &matches);
				}
			}
			bytes += m.raw.size();
		}
	}
	for (auto *s : streams)
		if (s != nullptr)
			hs_close_stream(s, scratch, nullptr, nullptr);
	hs_free_scratch(scratch);
	st.SetBytesProcessed(bytes);
	st.SetItemsProcessed(st.iterations() * msgs.size());
	benchmark::DoNotOptimize(matches);
}

/* BM_Engine - the full engine on the raw messages */
void BM_Engine(benchmark::State &st, const std::string &cls)
{
	const auto &msgs = g_corpus.by_class[cls];
	const char *rcpt[] = {"bob@example.net"};
	struct envelope env = {"198.18.0.2", "", "client.example.org",
			       "alice@example.org", rcpt, 1};
	struct engine_worker *w = engine_worker_new(g_rules);
	size_t bytes = 0;
	int flagged = 0;

	if (w == nullptr) {
		st.SkipWithError("engine_worker_new failed");
		return;
	}
	for (auto _ : st) {
		for (const auto &m : msgs) {
			struct verdict v;
			memset(&v, 0, sizeof(v));
			struct engine_msg *em = engine_msg_begin(w, g_rules, &env);
			if (em == nullptr || engine_msg_feed(em, m.raw.data(), m.raw.size()) < 0
			    || engine_msg_end(em, &v) < 0) {
				st.SkipWithError("engine failed");
				return;
			}
			flagged += v.action != ACT_PASS;
			verdict_free(&v);
			engine_msg_free(em);
			bytes += m.raw.size();
		}
	}
	engine_worker_free(w);
	st.SetBytesProcessed(bytes);
	st.SetItemsProcessed(st.iterations() * msgs.size());
	st.counters["stream_state_bytes"] = (double)ruleset_stream_size(g_rules);
	st.counters["compile_ms"] = ruleset_compile_ms(g_rules);
	st.counters["rules"] = (double)rules_count(g_rules);
	benchmark::DoNotOptimize(flagged);
}

} /* namespace */

/* main - load corpus and rules, register one pair per size class */
int main(int argc, char **argv)
{
	const char *corpus_dir = nullptr, *rules_dir = nullptr;
	std::vector<char *> rest;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--corpus") == 0 && i + 1 < argc)
			corpus_dir = argv[++i];
		else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
			rules_dir = argv[++i];
		else
			rest.push_back(argv[i]);
	}
	if (corpus_dir == nullptr || rules_dir == nullptr) {
		fprintf(stderr, "usage: engine_bench --corpus DIR --rules DIR"
			" [benchmark flags]\n(bench/run.sh makes both)\n");
		return 2;
	}
	struct rules_error err = {};
	if ((g_rules = rules_load_dir(rules_dir, &err)) == nullptr) {
		fprintf(stderr, "engine_bench: rules refused: %s:%d: %s\n",
			err.file, err.line, err.msg);
		return 2;
	}
	load_corpus(corpus_dir);
	for (const auto &kv : g_corpus.by_class) {
		benchmark::RegisterBenchmark(("BM_Ceiling/" + kv.first).c_str(),
					     BM_Ceiling, kv.first)->MinTime(0.5);
		benchmark::RegisterBenchmark(("BM_Engine/" + kv.first).c_str(),
					     BM_Engine, kv.first)->MinTime(0.5);
	}
	int n = (int)rest.size();
	benchmark::Initialize(&n, rest.data());
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	rules_free(g_rules);
	return 0;
}
