/*
 * charset.c - streaming conversion of mail charsets to UTF-8
 *
 *	int charset_lookup(const char *name);
 *	void charset_init(struct charset_conv *c, int cs);
 *	const uint8_t *charset_run(struct charset_conv *c, const uint8_t *in,
 *			size_t len, uint8_t *out, size_t *outlen);
 *	size_t charset_finish(struct charset_conv *c, uint8_t *out);
 *	size_t charset_utf8_valid(const uint8_t *s, size_t len);
 *	void charset_utf8_simd_limit(int level);
 *	size_t charset_to_utf8(const char *name, const uint8_t *in, size_t len,
 *			char *out, size_t cap, int *bad);
 *
 * DESCRIPTION
 *	charset_lookup() maps a (lower case) MIME charset name or alias to a
 *	converter id; CHARSET_UNKNOWN for a name we have no table for.
 *	Supported: us-ascii and utf-8 (validated, invalid sequences become
 *	U+FFFD), utf-16/utf-16le/utf-16be (BOM honoured for plain utf-16),
 *	iso-8859-1 and the single-byte tables of charset_tables.h
 *	(iso-8859-2/5/7/9/13/15, windows-1250..1254/1257, koi8-r/u, cp866,
 *	cp437).
 *
 *	charset_run() converts a slice; its state carries incomplete
 *	multibyte sequences to the next call, so any split gives the same
 *	text. It returns either `in` itself (input already valid UTF-8;
 *	*outlen may then be shorter than len when an incomplete sequence is
 *	held back) or `out`, which must hold CHARSET_OUT_MAX(len) bytes.
 *	charset_finish() flushes what is held (U+FFFD for a cut sequence).
 *
 *	charset_to_utf8() converts a short string in one go (filenames,
 *	encoded words); the result is cut at a character boundary to fit
 *	cap - 1 bytes and NUL-terminated. An unknown charset copies the bytes
 *	and sets *bad.
 *
 *	UTF-8 validation (every text part of every message goes through
 *	it) takes runs of ASCII and of two-byte sequences 64 bytes at a time
 *	with AVX-512BW, 32 with AVX2, when the CPU has it (checked once),
 *	else 16 with SSE2; charset_utf8_simd_limit() caps the level
 *	(UTF8_SIMD_*) so that tests can compare the kernels.
 *
 *	No table is built at run time and nothing is allocated.
 */
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define UTF8_HAVE_WIDE_CODE	1
#endif

#include "mime_int.h"
#include "charset_tables.h"

#define NTABLES	(sizeof(charset_tables) / sizeof(charset_tables[0]))
#define REPLACEMENT	0xFFFD

static const char *const utf8_names[] = {
	"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "us",
	"iso646-us", "x-unknown", "unknown-8bit", "x-user-defined", NULL
};
static const char *const latin1_names[] = {
	"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
	"cp819", "iso_8859-1:1987", NULL
};

/* name_in - whether name is one of a NULL-terminated list */
static int name_in(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; (n == 0 || i < n) && list[i]; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

/* charset_lookup - converter id for a charset name */
int charset_lookup(const char *name)
{
	if (name[0] == 0 || name_in(name, utf8_names, 0))
		return CHARSET_UTF8;
	if (name_in(name, latin1_names, 0))
		return CHARSET_LATIN1;
	if (strcmp(name, "utf-16le") == 0 || strcmp(name, "utf16le") == 0)
		return CHARSET_UTF16LE;
	if (strcmp(name, "utf-16be") == 0 || strcmp(name, "utf16be") == 0)
		return CHARSET_UTF16BE;
	if (strcmp(name, "utf-16") == 0 || strcmp(name, "utf16") == 0)
		return CHARSET_UTF16;
	for (size_t t = 0; t < NTABLES; t++)
		if (name_in(name, charset_tables[t].names, 5))
			return CHARSET_TABLE0 + (int) t;
	return CHARSET_UNKNOWN;
}

/* charset_init - start converting a part */
void charset_init(struct charset_conv *c, int cs)
{
	memset(c, 0, sizeof(*c));
	c->cs = cs;
	c->big_endian = (cs == CHARSET_UTF16BE || cs == CHARSET_UTF16);
}

/* put_utf8 - encode one code point */
static uint8_t *put_utf8(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		*o++ = (uint8_t) cp;
	} else if (cp < 0x800) {
		*o++ = (uint8_t) (0xC0 | cp >> 6);
		*o++ = (uint8_t) (0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (uint8_t) (0xE0 | cp >> 12);
		*o++ = (uint8_t) (0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t) (0x80 | (cp & 0x3F));
	} else {
		*o++ = (uint8_t) (0xF0 | cp >> 18);
		*o++ = (uint8_t) (0x80 | (cp >> 12 & 0x3F));
		*o++ = (uint8_t) (0x80 | (cp >> 6 & 0x3F));
		*o++ = (uint8_t) (0x80 | (cp & 0x3F));
	}
	return o;
}

/* utf8_need - continuation bytes after a lead byte, -1 if not a lead */
static int utf8_need(uint8_t b)
{
	if (b >= 0xC2 && b <= 0xDF)
		return 1;
	if (b >= 0xE0 && b <= 0xEF)
		return 2;
	if (b >= 0xF0 && b <= 0xF4)
		return 3;
	return -1;
}

/* utf8_cont_ok - whether b may follow the bytes held so far */
static int utf8_cont_ok(const uint8_t *seq, unsigned nseq, uint8_t b)
{
	uint8_t lo = 0x80, hi = 0xBF;

	if (nseq == 1) {
		switch (seq[0]) {
		case 0xE0: lo = 0xA0; break;
		case 0xED: hi = 0x9F; break;
		case 0xF0: lo = 0x90; break;
		case 0xF4: hi = 0x8F; break;
		}
	}
	return b >= lo && b <= hi;
}

#ifdef UTF8_HAVE_WIDE_CODE
/*
 * The wide steps below are the SSE2 block test of utf8_valid_prefix()
 * on 32 or 64 bytes: a block of ASCII and whole two-byte sequences
 * (leads C2..DF, each followed by exactly one continuation 80..BF) is
 * passed; *carry says the block before ended with a lead. They stop
 * at the first other block, for the narrower code to look into.
 */

/* utf8_blocks_avx2 - the block test 32 bytes at a time */
__attribute__((target("avx2")))
static size_t utf8_blocks_avx2(const uint8_t *s, size_t i, size_t len,
			       unsigned *carry)
{
	uint64_t c = *carry;

	while (i + 32 <= len) {
		__m256i v = _mm256_loadu_si256((const __m256i *) (s + i));
		uint64_t m = (uint32_t) _mm256_movemask_epi8(v), cont, lead;

		if (m == 0 && c == 0) {
			i += 32;
			continue;
		}
		/* signed bytes: 80..BF are -128..-65, C2..DF -62..-33 */
		cont = (uint32_t) _mm256_movemask_epi8(_mm256_cmpgt_epi8(
			_mm256_set1_epi8(-64), v));
		lead = (uint32_t) _mm256_movemask_epi8(_mm256_and_si256(
			_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-63)),
			_mm256_cmpgt_epi8(_mm256_set1_epi8(-32), v)));
		if ((m & ~(cont | lead)) != 0
		    || cont != (((lead << 1) | c) & 0xFFFFFFFFu))
			break;
		c = lead >> 31;
		i += 32;
	}
	*carry = (unsigned) c;
	return i;
}

/* utf8_blocks_avx512 - the block test 64 bytes at a time */
__attribute__((target("avx512f,avx512bw")))
static size_t utf8_blocks_avx512(const uint8_t *s, size_t i, size_t len,
				 unsigned *carry)
{
	uint64_t c = *carry;

	while (i + 64 <= len) {
		__m512i v = _mm512_loadu_si512((const void *) (s + i));
		uint64_t m = _mm512_movepi8_mask(v), cont, lead;

		if (m == 0 && c == 0) {
			i += 64;
			continue;
		}
		cont = _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(-64));
		lead = _mm512_cmpgt_epi8_mask(v, _mm512_set1_epi8(-63))
		       & _mm512_cmplt_epi8_mask(v, _mm512_set1_epi8(-32));
		if ((m & ~(cont | lead)) != 0 || cont != ((lead << 1) | c))
			break;
		c = lead >> 63;
		i += 64;
	}
	*carry = (unsigned) c;
	return i;
}

/* utf8_simd_cap - the highest level charset_utf8_simd_limit() allows */
static int utf8_simd_cap = UTF8_SIMD_AVX512;

/* utf8_simd_level - the widest step this CPU runs (asked once; every
 * thread computes the same answer, so the unlocked cache is harmless) */
static int utf8_simd_level(void)
{
	static int level = -1;

	if (level < 0) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512bw")
		    && __builtin_cpu_supports("avx512f"))
			level = UTF8_SIMD_AVX512;
		else if (__builtin_cpu_supports("avx2"))
			level = UTF8_SIMD_AVX2;
		else
			level = UTF8_SIMD_SSE2;
	}
	return level < utf8_simd_cap ? level : utf8_simd_cap;
}
#endif

/* charset_utf8_simd_limit - use no step wider than level (tests, benches) */
void charset_utf8_simd_limit(int level)
{
#ifdef UTF8_HAVE_WIDE_CODE
	utf8_simd_cap = level;
#else
	(void) level;
#endif
}

/*
 * utf8_valid_prefix - length of the longest prefix made of whole valid
 * sequences
 */
static size_t utf8_valid_prefix(const uint8_t *s, size_t len)
{
	const uint64_t high = 0x8080808080808080ULL;
	size_t i = 0;

	/*
	 * Every text part goes through here once per slice, so it is written
	 * for mail text: ASCII is skipped 16 (or 8) bytes at a time straight to the
	 * first high byte, and the two-byte sequences of Latin scripts are
	 * checked inline; anything longer takes the general path.
	 */
	while (i < len) {
		uint8_t c;

#ifdef __SSE2__
		/*
		 * SSE2 is part of x86-64: 16 bytes per step, no CPU check.
		 * A block of ASCII and whole two-byte sequences (C2..DF, then
		 * 80..BF: accented Latin) is passed in one step: its
		 * continuation bytes must be exactly those after a lead, the
		 * first one after a lead that ended the block before (carry).
		 * Any other block goes to the byte-wise code, from the lead
		 * of a sequence cut by the block end if there is one.
		 */
		unsigned carry = 0;

#ifdef UTF8_HAVE_WIDE_CODE
		/* a text part is mostly whole blocks: the wide step first */
		if (len - i >= 32) {
			int level = utf8_simd_level();

			if (level == UTF8_SIMD_AVX512)
				i = utf8_blocks_avx512(s, i, len, &carry);
			if (level >= UTF8_SIMD_AVX2)
				i = utf8_blocks_avx2(s, i, len, &carry);
		}
#endif
		while (i + 16 <= len) {
			__m128i v = _mm_loadu_si128((const __m128i *) (s + i));
			unsigned m = (unsigned) _mm_movemask_epi8(v), cont, lead;

			if (m == 0 && carry == 0) {
				i += 16;
				continue;
			}
			/* signed bytes: 80..BF are -128..-65, C2..DF -62..-33 */
			cont = (unsigned) _mm_movemask_epi8(
				_mm_cmplt_epi8(v, _mm_set1_epi8(-64)));
			lead = (unsigned) _mm_movemask_epi8(_mm_and_si128(
				_mm_cmpgt_epi8(v, _mm_set1_epi8(-63)),
				_mm_cmplt_epi8(v, _mm_set1_epi8(-32))));
			if ((m & ~(cont | lead)) != 0
			    || cont != (((lead << 1) | carry) & 0xFFFFu)) {
				break;
			}
			carry = lead >> 15;
			i += 16;
		}
		i -= carry;
#endif
		while (i + 8 <= len) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if ((w &= high) != 0) {
				i += (size_t) __builtin_ctzll(w) / 8;
				break;
			}
			i += 8;
		}
		if (i >= len)
			break;
		c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			if (i + 1 >= len || (s[i + 1] & 0xC0) != 0x80)
				return i;
			i += 2;
			continue;
		}
		int need = utf8_need(c);

		if (need < 0 || i + (size_t) need >= len)
			return i;
		for (int k = 1; k <= need; k++)
			if (!utf8_cont_ok(s + i, (unsigned) k, s[i + k]))
				return i;
		i += (size_t) need + 1;
	}
	return i;
}

/* charset_utf8_valid - bytes of s that are whole valid UTF-8 sequences */
size_t charset_utf8_valid(const uint8_t *s, size_t len)
{
	return utf8_valid_prefix(s, len);
}

/* utf8_slow - the byte-wise validator with replacement */
static uint8_t *utf8_slow(struct charset_conv *c, const uint8_t *in,
			  size_t len, uint8_t *o)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t b = in[i];

		if (c->need == 0) {
			int need = utf8_need(b);

			if (b < 0x80) {
				*o++ = b;
			} else if (need < 0) {
				o = put_utf8(o, REPLACEMENT);
			} else {
				c->pend[0] = b;
				c->npend = 1;
				c->need = (unsigned) need;
			}
		} else if (utf8_cont_ok(c->pend, c->npend, b)) {
			c->pend[c->npend++] = b;
			if (--c->need == 0) {
				memcpy(o, c->pend, c->npend);
				o += c->npend;
				c->npend = 0;
			}
		} else {
			/* The cut sequence is one error; b starts afresh. */
			o = put_utf8(o, REPLACEMENT);
			c->npend = 0;
			c->need = 0;
			i--;
		}
	}
	return o;
}

/* utf8_run - validate UTF-8, copying only when something must change */
static const uint8_t *utf8_run(struct charset_conv *c, const uint8_t *in,
			       size_t len, uint8_t *out, size_t *outlen)
{
	if (c->npend == 0) {
		size_t v = utf8_valid_prefix(in, len);

		if (v == len) {
			*outlen = len;
			return in;
		}
		/* A valid but incomplete tail waits for the next slice. */
		if (len - v <= 3 && utf8_need(in[v]) >= (int) (len - v)) {
			unsigned k;

			for (k = 1; v + k < len; k++)
				if (!utf8_cont_ok(in + v, k, in[v + k]))
					break;
			if (v + k == len) {
				memcpy(c->pend, in + v, len - v);
				c->npend = (unsigned) (len - v);
				c->need = (unsigned) utf8_need(in[v]) + 1 -
					  c->npend;
				*outlen = v;
				return in;
			}
		}
		memcpy(out, in, v);
		*outlen = (size_t) (utf8_slow(c, in + v, len - v, out + v) - out);
		return out;
	}
	*outlen = (size_t) (utf8_slow(c, in, len, out) - out);
	return out;
}

/* utf16_unit - take one UTF-16 code unit */
static uint8_t *utf16_unit(struct charset_conv *c, uint16_t u, uint8_t *o)
{
	if (!c->bom_done) {
		c->bom_done = 1;
		if (c->cs == CHARSET_UTF16 && (u == 0xFEFF || u == 0xFFFE)) {
			c->big_endian = (u == 0xFEFF);
			return o;
		}
	}
	if (c->hi_surrogate) {
		if (u >= 0xDC00 && u <= 0xDFFF) {
			uint32_t cp = 0x10000 + ((uint32_t) (c->hi_surrogate -
					0xD800) << 10) + (u - 0xDC00);

			c->hi_surrogate = 0;
			return put_utf8(o, cp);
		}
		c->hi_surrogate = 0;
		o = put_utf8(o, REPLACEMENT);
	}
	if (u >= 0xD800 && u <= 0xDBFF)
		c->hi_surrogate = u;
	else if (u >= 0xDC00 && u <= 0xDFFF)
		o = put_utf8(o, REPLACEMENT);
	else
		o = put_utf8(o, u);
	return o;
}

/* utf16_run - convert UTF-16 of either byte order */
static uint8_t *utf16_run(struct charset_conv *c, const uint8_t *in,
			  size_t len, uint8_t *o)
{
	for (size_t i = 0; i < len; i++) {
		c->pend[c->npend++] = in[i];
		if (c->npend < 2)
			continue;
		c->npend = 0;
		/* The BOM check needs the order before the first unit. */
		uint16_t u = (!c->bom_done && c->cs == CHARSET_UTF16 &&
			      c->pend[0] == 0xFF && c->pend[1] == 0xFE) ?
			0xFFFE :
			c->big_endian ? (uint16_t) (c->pend[0] << 8 | c->pend[1]) :
			(uint16_t) (c->pend[1] << 8 | c->pend[0]);

		o = utf16_unit(c, u, o);
	}
	return o;
}

/* charset_run - convert a slice to UTF-8 */
const uint8_t *charset_run(struct charset_conv *c, const uint8_t *in,
			   size_t len, uint8_t *out, size_t *outlen)
{
	uint8_t *o = out;

	switch (c->cs) {
	case CHARSET_UNKNOWN:
		*outlen = len;
		return in;
	case CHARSET_UTF8:
		return utf8_run(c, in, len, out, outlen);
	case CHARSET_UTF16:
	case CHARSET_UTF16LE:
	case CHARSET_UTF16BE:
		o = utf16_run(c, in, len, out);
		break;
	default:
		for (size_t i = 0; i < len; i++) {
			uint8_t b = in[i];

			if (b < 0x80)
				*o++ = b;
			else if (c->cs == CHARSET_LATIN1)
				o = put_utf8(o, b);
			else
				o = put_utf8(o, charset_tables[c->cs -
					CHARSET_TABLE0].hi[b - 0x80]);
		}
		break;
	}
	*outlen = (size_t) (o - out);
	return out;
}

/* charset_finish - flush a sequence cut by the end of the part */
size_t charset_finish(struct charset_conv *c, uint8_t *out)
{
	uint8_t *o = out;

	if (c->npend || c->hi_surrogate)
		o = put_utf8(o, REPLACEMENT);
	c->npend = 0;
	c->need = 0;
	c->hi_surrogate = 0;
	return (size_t) (o - out);
}

/* append_cut - append UTF-8 text, cut at a character boundary */
static size_t append_cut(char *out, size_t used, size_t cap,
			 const uint8_t *s, size_t n)
{
	if (used + n + 1 > cap) {
		n = cap - 1 - used;
		while (n > 0 && (s[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out + used, s, n);
	return used + n;
}

#define CHARSET_SLICE	64	/* input bytes converted per step */

/* charset_to_utf8 - convert a short string in one go */
size_t charset_to_utf8(const char *name, const uint8_t *in, size_t len,
		       char *out, size_t cap, int *bad)
{
	struct charset_conv c;
	uint8_t buf[CHARSET_OUT_MAX(CHARSET_SLICE)];
	size_t used = 0;
	int cs = charset_lookup(name);

	if (cap == 0)
		return 0;
	if (cs == CHARSET_UNKNOWN && bad)
		*bad = 1;
	charset_init(&c, cs);
	for (size_t off = 0; off < len && used + 1 < cap; off += CHARSET_SLICE) {
		size_t n = len - off < CHARSET_SLICE ? len - off : CHARSET_SLICE;
		size_t olen;
		const uint8_t *r = charset_run(&c, in + off, n, buf, &olen);

		used = append_cut(out, used, cap, r, olen);
	}
	if (used + 1 < cap) {
		size_t olen = charset_finish(&c, buf);

		used = append_cut(out, used, cap, buf, olen);
	}
	out[used] = 0;
	return used;
}
