/*
 * decode.c - streaming base64 and quoted-printable decoders
 *
 *	void decode_b64_init(struct decode_b64 *d);
 *	size_t decode_b64_run(struct decode_b64 *d, const uint8_t *in,
 *			size_t len, uint8_t *out);
 *	size_t decode_b64_finish(struct decode_b64 *d, uint8_t *out);
 *	void decode_b64_simd_limit(int level);
 *	void decode_qp_init(struct decode_qp *d);
 *	size_t decode_qp_run(struct decode_qp *d, const uint8_t *in,
 *			size_t len, uint8_t *out);
 *	size_t decode_qp_finish(struct decode_qp *d, uint8_t *out);
 *
 * DESCRIPTION
 *	Both decoders keep their whole state in the struct, so input may be
 *	split anywhere. The *_run functions return the bytes written to out;
 *	out must hold DECODE_B64_OUT_MAX(len) or DECODE_QP_OUT_MAX(len).
 *
 *	Base64 is decoded the way tolerant mail readers do: line breaks and
 *	blanks are skipped silently, other non-alphabet bytes are skipped and
 *	flagged; a quantum closed by padding is flushed and decoding resumes
 *	after it (data after padding is decoded, not hidden, and flagged);
 *	a short final quantum yields the bytes it holds.
 *
 *	Speed: base64 attachments are most of the bytes of large messages,
 *	so decoding is the engine's largest cost after parsing. Runs of
 *	alphabet characters are decoded 64 at a time with AVX-512 VBMI, or
 *	32 at a time with AVX2, when the CPU has it (checked once at run
 *	time; any other byte, padding or whitespace included, ends the run
 *	and the byte-wise state machine below takes over, so the flags and
 *	the junk tolerance are those of the scalar code). Clean quanta that
 *	remain are decoded four characters at a time; line ends and anomalies
 *	go through the state machine. decode_b64_simd_limit() caps the kernel
 *	(B64_SIMD_NONE, _AVX2, _VBMI) so that tests can compare them.
 *	Quoted-printable text between escapes is copied 16 bytes at a time.
 *
 *	Quoted-printable follows binascii.a2b_qp: "=" CRLF/LF is a soft line
 *	break, "=XX" in either case is one byte, "==" is "=", any other "="
 *	sequence is passed literally and flagged.
 *
 * DIAGNOSTICS
 *	The bad member counts anomalies; the caller turns it into
 *	MIME_F_BAD_BASE64 / MIME_F_BAD_QP.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define B64_HAVE_AVX2_CODE	1
#endif

#include "mime_int.h"

#define B64_SIMD_BLOCK	32	/* base64 characters per AVX2 step */

#define B64_WS		0xFE	/* skipped silently */
#define B64_PAD		0xFD
#define B64_JUNK	0xFF

/* sextet values; WS skipped, PD padding, XX junk */
#define WS B64_WS
#define PD B64_PAD
#define XX B64_JUNK
static const uint8_t b64_tab[256] = {
	XX, XX, XX, XX, XX, XX, XX, XX, XX, WS, WS, XX, XX, WS, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	WS, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, 62, XX, XX, XX, 63,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, XX, XX, XX, PD, XX, XX,
	XX,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, XX, XX, XX, XX, XX,
	XX, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
	XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX, XX,
};
#undef WS
#undef PD
#undef XX

#ifdef B64_HAVE_AVX2_CODE

/*
 * b64_block - decode the 32 characters at in into 24 bytes at out, as if
 * all were in the alphabet; returns a vector non-zero in the bytes that
 * are not (their output quanta are then garbage).
 *
 * Validation (one lookup per nibble): a byte is in the alphabet iff the
 * class bits of its low nibble and of its high nibble share no bit. The
 * sextet is the byte plus an offset chosen by its high nibble ('/' is the
 * one byte whose offset differs from the rest of its row, hence the -1).
 */
__attribute__((target("avx2"), always_inline))
static inline __m256i b64_block(const uint8_t *in, uint8_t *out)
{
	const __m256i lut_lo = _mm256_setr_epi8(
		0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
		0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
		0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
		0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
	const __m256i lut_hi = _mm256_setr_epi8(
		0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
		0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
		0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
		0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
	const __m256i lut_roll = _mm256_setr_epi8(
		0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i nibble = _mm256_set1_epi8(0x0F);
	/* sextet pairs to 12 bits, then 12-bit pairs to 24 bits */
	const __m256i merge6 = _mm256_set1_epi32(0x01400140);
	const __m256i merge12 = _mm256_set1_epi32(0x00011000);
	/* the 3 output bytes of each 32-bit group, big end first */
	const __m256i pack = _mm256_setr_epi8(
		2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
		2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
	__m256i c = _mm256_loadu_si256((const __m256i *) in);
	__m256i hi = _mm256_and_si256(_mm256_srli_epi32(c, 4), nibble);
	__m256i lo = _mm256_and_si256(c, nibble);
	__m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo),
				       _mm256_shuffle_epi8(lut_hi, hi));
	__m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(
			_mm256_cmpeq_epi8(c, _mm256_set1_epi8('/')), hi));
	__m256i v = _mm256_add_epi8(c, roll);

	v = _mm256_maddubs_epi16(v, merge6);
	v = _mm256_madd_epi16(v, merge12);
	v = _mm256_shuffle_epi8(v, pack);
	v = _mm256_permutevar8x32_epi32(v, lanes);
	_mm_storeu_si128((__m128i *) out, _mm256_castsi256_si128(v));
	_mm_storel_epi64((__m128i *) (out + 16), _mm256_extracti128_si256(v, 1));
	return bad;
}

/* b64_past_stop - a block stopped at its byte first (not base64): keep
 * the whole quanta before it; when whitespace between quanta follows
 * (a line end, which changes no state), step over it and, for a CRLF
 * after a line of whole blocks, note that line length for the whole-line
 * path. 0: the vector loop stops here, the scalar decoder goes on */
static inline int b64_past_stop(const uint8_t *in, size_t len, size_t first,
				uint8_t **out, size_t *done, size_t *lstart,
				size_t *line)
{
	size_t	ws;

	*out += first / 4 * 3;
	*done += first / 4 * 4;
	if (first % 4 != 0)
		return 0;
	for (ws = *done; ws < len && b64_tab[in[ws]] == B64_WS;)
		ws++;
	if (ws == *done)
		return 0;
	if (ws == *done + 2 && in[*done] == '\r' && in[*done + 1] == '\n'
	    && *done - *lstart >= B64_SIMD_BLOCK && (*done - *lstart) % 4 == 0)
		*line = *done - *lstart;
	*done = ws;
	*lstart = ws;
	return 1;
}

/*
 * b64_avx2_run - decode 32-character blocks of pure alphabet; in a block
 * holding anything else, keep the whole quanta before it, skip line ends
 * that follow a whole quantum, and stop at any other byte. Returns input
 * bytes consumed and advances *outp past the bytes decoded (up to 24
 * bytes past them may be scribbled on; out holds 3/4 of the >= 32 input
 * bytes left whenever a block is decoded).
 *
 * Whole lines: mail base64 comes in lines of one length (76 mostly) ended
 * by CRLF. Once a line end has shown that length, each following line is
 * decoded as blocks at 0, 32, ... and a last block ending at the line end
 * (overlapping the one before: quanta decode independently), with one
 * branch per line; stopping at a line end in the middle of a block cost a
 * mispredicted branch per line and ran at a third of the speed. A line
 * that does not fit is decoded block by block again.
 */
__attribute__((target("avx2")))
static size_t b64_avx2_run(const uint8_t *in, size_t len, uint8_t **outp)
{
	uint8_t *out = *outp;
	size_t  done = 0, lstart = 0, line = 0;

	while (len - done >= B64_SIMD_BLOCK) {
		if (line && len - done >= line + 2) {
			const uint8_t *l = in + done;
			__m256i bad = _mm256_setzero_si256();
			size_t  off;

			for (off = 0; off + B64_SIMD_BLOCK <= line;
			     off += B64_SIMD_BLOCK)
				bad = _mm256_or_si256(bad, b64_block(l + off,
							out + off / 4 * 3));
			if (off < line) {
				off = line - B64_SIMD_BLOCK;
				bad = _mm256_or_si256(bad, b64_block(l + off,
							out + off / 4 * 3));
			}
			if (_mm256_testz_si256(bad, bad) && l[line] == '\r'
			    && l[line + 1] == '\n') {
				out += line / 4 * 3;
				done += line + 2;
				continue;
			}
			line = 0;	/* not that layout: block by block */
		}

		__m256i bad = b64_block(in + done, out);

		if (_mm256_testz_si256(bad, bad)) {
			out += 24;
			done += B64_SIMD_BLOCK;
			continue;
		}
		/* Quanta before the first other byte are right; keep them. */
		unsigned good = (unsigned) _mm256_movemask_epi8(
			_mm256_cmpeq_epi8(bad, _mm256_setzero_si256()));

		if (!b64_past_stop(in, len, (size_t) __builtin_ctz(~good), &out,
				   &done, &lstart, &line))
			break;
	}
	*outp = out;
	return done;
}

#define B64_VBMI_BLOCK	64	/* base64 characters per AVX-512 VBMI step */
#define B64_VBMI_PAIR_MAX 96	/* longest line taken two at a time */
#define B64_VBMI_PAIR_READ 192	/* bytes a pair of lines reads from its start */

/*
 * b64_vec64 - decode the 64 characters in c into the low 48 bytes of *dec,
 * as if all were in the alphabet; returns a mask of those that are not
 * (the output quanta holding them are then garbage).
 *
 * One two-table byte permute (vpermi2b) maps the low seven bits of every
 * character through b64_tab itself: an alphabet character gets its sextet,
 * anything else a value with the top bit set, as does any 8-bit input.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline))
static inline uint64_t b64_vec64(__m512i c, __m512i *dec)
{
	/* the 3 output bytes of each 32-bit group, big end first */
	static const uint8_t pack[64] __attribute__((aligned(64))) = {
		 2,  1,  0,  6,  5,  4, 10,  9,  8, 14, 13, 12,
		18, 17, 16, 22, 21, 20, 26, 25, 24, 30, 29, 28,
		34, 33, 32, 38, 37, 36, 42, 41, 40, 46, 45, 44,
		50, 49, 48, 54, 53, 52, 58, 57, 56, 62, 61, 60,
	};
	const __m512i lut0 = _mm512_loadu_si512(b64_tab);
	const __m512i lut1 = _mm512_loadu_si512(b64_tab + 64);
	__m512i v = _mm512_permutex2var_epi8(lut0, c, lut1);
	uint64_t bad = _mm512_movepi8_mask(_mm512_or_si512(v, c));

	v = _mm512_maddubs_epi16(v, _mm512_set1_epi32(0x01400140));
	v = _mm512_madd_epi16(v, _mm512_set1_epi32(0x00011000));
	*dec = _mm512_permutexvar_epi8(_mm512_load_si512(pack), v);
	return bad;
}

/* b64_store48 - the 48 decoded bytes of v, with plain stores */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline))
static inline void b64_store48(uint8_t *out, __m512i v)
{
	_mm256_storeu_si256((__m256i *) out, _mm512_castsi512_si256(v));
	_mm_storeu_si128((__m128i *) (out + 32),
			 _mm512_extracti32x4_epi32(v, 2));
}

/*
 * b64_block64 - decode the first n (a multiple of 4, at most 64) characters
 * at in into n/4*3 bytes at out; returns the mask of b64_vec64() for them.
 * With room (64 input bytes at in, 48 output bytes at out) all 64 are
 * read and 48 bytes written whatever n is: masked loads and stores cost
 * several times plain ones on some CPUs (AMD Zen 4), so they are kept for
 * the last block of a buffer; without, nothing past n (and n/4*3) is
 * touched.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi"), always_inline))
static inline uint64_t b64_block64(const uint8_t *in, size_t n, uint8_t *out,
				   int room)
{
	__mmask64 in_mask = n >= 64 ? ~(__mmask64) 0 : ((__mmask64) 1 << n) - 1;
	__mmask64 out_mask = n >= 64 ? ((__mmask64) 1 << 48) - 1 :
		((__mmask64) 1 << (n / 4 * 3)) - 1;
	__m512i c = room ? _mm512_loadu_si512(in) :
		_mm512_maskz_loadu_epi8(in_mask, in);
	__m512i v;
	uint64_t bad = b64_vec64(c, &v) & in_mask;

	if (room)
		b64_store48(out, v);
	else
		_mm512_mask_storeu_epi8(out, out_mask, v);
	return bad;
}

/*
 * b64_vbmi_pairs - whole pairs of CRLF lines of length line (64 < line <=
 * B64_VBMI_PAIR_MAX, a multiple of 4) at in, three blocks per pair where
 * one line at a time takes four: the first line's tail and the second
 * line's head are one block, gathered across the CRLF by a byte permute
 * (vpermi2b over two loads). Stops before the first pair that is not all
 * alphabet with CRLF line ends (the caller's line loop takes it), and
 * where fewer than B64_VBMI_PAIR_READ bytes are left. Returns the bytes
 * consumed and advances *outp; nothing is written past the bytes decoded
 * but for pairs that are given back, within 3/4 of the input left.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static size_t b64_vbmi_pairs(const uint8_t *in, size_t len, size_t line,
			     uint8_t **outp)
{
	size_t  tail = line - B64_VBMI_BLOCK, step = 2 * (line + 2);
	size_t  lout = line / 4 * 3, done = 0;
	uint8_t *out = *outp;
	/* byte j of the middle block: the tail, then past the CRLF */
	const __m512i iota = _mm512_set_epi8(
		63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48,
		47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32,
		31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16,
		15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
	const __m512i idx = _mm512_mask_add_epi8(iota,
		_mm512_cmpge_epu8_mask(iota, _mm512_set1_epi8((char) tail)),
		iota, _mm512_set1_epi8(2));

	while (len - done >= step && len - done >= B64_VBMI_PAIR_READ) {
		const uint8_t *l1 = in + done, *l2 = l1 + line + 2;
		__m512i a, b, c;
		uint64_t bad;

		bad = b64_vec64(_mm512_loadu_si512(l1), &a);
		bad |= b64_vec64(_mm512_permutex2var_epi8(
			_mm512_loadu_si512(l1 + B64_VBMI_BLOCK), idx,
			_mm512_loadu_si512(l1 + 2 * B64_VBMI_BLOCK)), &b);
		bad |= b64_vec64(_mm512_loadu_si512(l2 + tail), &c);
		b64_store48(out, a);
		b64_store48(out + 48, b);
		b64_store48(out + lout + tail / 4 * 3, c);
		if (bad != 0 || l1[line] != '\r' || l1[line + 1] != '\n'
		    || l2[line] != '\r' || l2[line + 1] != '\n')
			break;
		out += 2 * lout;
		done += step;
	}
	*outp = out;
	return done;
}

/*
 * b64_vbmi_run - b64_avx2_run() 64 characters per step, for CPUs with
 * AVX-512 VBMI: same contract, same stops. A line of the remembered
 * length is whole blocks plus one masked block for its tail (76 columns:
 * two blocks, where AVX2 needs three). Up to 48 bytes past the bytes
 * decoded may be scribbled on, never past 3/4 of the input left.
 */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static size_t b64_vbmi_run(const uint8_t *in, size_t len, uint8_t **outp)
{
	uint8_t *out = *outp;
	size_t  done = 0, lstart = 0, line = 0;

	while (len - done >= B64_VBMI_BLOCK) {
		if (line > B64_VBMI_BLOCK && line <= B64_VBMI_PAIR_MAX)
			done += b64_vbmi_pairs(in + done, len - done, line,
					       &out);
		if (line > B64_VBMI_BLOCK && line <= 2 * B64_VBMI_BLOCK) {
			/* the usual 76 columns: two blocks, the second
			 * ending at the line end, no loop, no mask */
			size_t  tail = line - B64_VBMI_BLOCK;

			while (len - done >= line + 2) {
				const uint8_t *l = in + done;
				uint64_t bad = b64_block64(l, B64_VBMI_BLOCK,
							   out, 1)
					| b64_block64(l + tail, B64_VBMI_BLOCK,
						      out + tail / 4 * 3, 1);

				if (bad != 0 || l[line] != '\r'
				    || l[line + 1] != '\n') {
					line = 0;
					break;
				}
				out += line / 4 * 3;
				done += line + 2;
			}
			if (len - done < B64_VBMI_BLOCK)
				break;
		}
		if (line && len - done >= line + 2) {
			const uint8_t *l = in + done;
			uint64_t bad = 0;
			size_t  off;

			for (off = 0; off < line; off += B64_VBMI_BLOCK)
				bad |= b64_block64(l + off, line - off,
						   out + off / 4 * 3, len - done
						   - off >= B64_VBMI_BLOCK);
			if (bad == 0 && l[line] == '\r' && l[line + 1] == '\n') {
				out += line / 4 * 3;
				done += line + 2;
				continue;
			}
			line = 0;	/* not that layout: block by block */
		}

		uint64_t bad = b64_block64(in + done, B64_VBMI_BLOCK, out, 1);

		if (bad == 0) {
			out += 48;
			done += B64_VBMI_BLOCK;
			continue;
		}
		/* Quanta before the first other byte are right; keep them. */
		if (!b64_past_stop(in, len, (size_t) __builtin_ctzll(bad), &out,
				   &done, &lstart, &line))
			break;
	}
	*outp = out;
	return done;
}

/* b64_simd_cap - the highest SIMD level decode_b64_simd_limit() allows */
static int b64_simd_cap = B64_SIMD_VBMI;

/* b64_simd_level - the fastest kernel this CPU runs (asked once; every
 * thread computes the same answer, so the unlocked cache is harmless) */
static int b64_simd_level(void)
{
	static int level = -1;

	if (level < 0) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx512vbmi")
		    && __builtin_cpu_supports("avx512bw"))
			level = B64_SIMD_VBMI;
		else if (__builtin_cpu_supports("avx2"))
			level = B64_SIMD_AVX2;
		else
			level = B64_SIMD_NONE;
	}
	return level < b64_simd_cap ? level : b64_simd_cap;
}

#endif

/* decode_b64_simd_limit - use no SIMD kernel above level (tests, benches) */
void decode_b64_simd_limit(int level)
{
#ifdef B64_HAVE_AVX2_CODE
	b64_simd_cap = level;
#else
	(void) level;
#endif
}

/*
 * b64_clean - between quanta, before any padding: decode whole quanta
 * (32 characters at a time with AVX2, then 4 at a time) and skip line
 * ends, which change no state there; returns where it stopped, at a byte
 * the state machine must see (or at end). *op advances with the output.
 */
static const uint8_t *b64_clean(const uint8_t *in, const uint8_t *end,
				uint8_t **op)
{
	uint8_t *o = *op;
	const uint8_t *start;

	do {
		start = in;
#ifdef B64_HAVE_AVX2_CODE
		if (end - in >= B64_SIMD_BLOCK) {
			int	level = b64_simd_level();

			if (level == B64_SIMD_VBMI)
				in += b64_vbmi_run(in, (size_t) (end - in), &o);
			else if (level == B64_SIMD_AVX2)
				in += b64_avx2_run(in, (size_t) (end - in), &o);
		}
#endif
		while (end - in >= 4) {
			uint8_t a = b64_tab[in[0]], b = b64_tab[in[1]],
				c = b64_tab[in[2]], e = b64_tab[in[3]];

			if ((a | b | c | e) & 0xC0)
				break;
			o[0] = (uint8_t) (a << 2 | b >> 4);
			o[1] = (uint8_t) (b << 4 | c >> 2);
			o[2] = (uint8_t) (c << 6 | e);
			o += 3;
			in += 4;
		}
		while (in < end && b64_tab[*in] == B64_WS)
			in++;
	} while (in != start && in < end);
	*op = o;
	return in;
}

/* decode_b64_init - start a base64 body */
void decode_b64_init(struct decode_b64 *d)
{
	memset(d, 0, sizeof(*d));
}

/* decode_b64_run - decode a slice of base64 text */
size_t decode_b64_run(struct decode_b64 *d, const uint8_t *in, size_t len,
		      uint8_t *out)
{
	const uint8_t *end = in + len;
	uint8_t *o = out;

	while (in < end) {
		/* Whole clean quanta are the common case: see b64_clean(). */
		if (d->nq == 0 && d->pads == 0 && d->padded == 0) {
			in = b64_clean(in, end, &o);
			if (in >= end)
				break;
		}
		uint8_t v = b64_tab[*in++];

		if (v < 64) {
			if (d->pads || d->padded) {
				/* data after padding: decoded, not hidden */
				d->pads = 0;
				d->padded = 0;
				d->bad++;
			}
			d->acc = d->acc << 6 | v;
			if (++d->nq == 4) {
				o[0] = (uint8_t) (d->acc >> 16);
				o[1] = (uint8_t) (d->acc >> 8);
				o[2] = (uint8_t) d->acc;
				o += 3;
				d->nq = 0;
				d->acc = 0;
			}
		} else if (v == B64_WS) {
			continue;
		} else if (v == B64_PAD) {
			switch (d->nq) {
			case 0:
				if (d->pads) {
					d->pads = 0;
					d->padded = 1;
				} else if (!d->padded) {
					d->bad++;
				}
				break;
			case 1:
				d->bad++;
				break;
			case 2:
				*o++ = (uint8_t) (d->acc >> 4);
				d->pads = 1;
				break;
			case 3:
				o[0] = (uint8_t) (d->acc >> 10);
				o[1] = (uint8_t) (d->acc >> 2);
				o += 2;
				d->padded = 1;
				break;
			}
			d->nq = 0;
			d->acc = 0;
		} else {
			d->bad++;
		}
	}
	return (size_t) (o - out);
}

/* decode_b64_finish - flush a quantum left open at the end of the body */
size_t decode_b64_finish(struct decode_b64 *d, uint8_t *out)
{
	size_t n = 0;

	switch (d->nq) {
	case 1:
		d->bad++;
		break;
	case 2:
		out[n++] = (uint8_t) (d->acc >> 4);
		d->bad++;
		break;
	case 3:
		out[n++] = (uint8_t) (d->acc >> 10);
		out[n++] = (uint8_t) (d->acc >> 2);
		d->bad++;
		break;
	}
	d->nq = 0;
	d->acc = 0;
	d->pads = 0;
	return n;
}

/* decode_qp_init - start a quoted-printable body */
void decode_qp_init(struct decode_qp *d)
{
	memset(d, 0, sizeof(*d));
}

/* decode_qp_run - decode a slice of quoted-printable text */
size_t decode_qp_run(struct decode_qp *d, const uint8_t *in, size_t len,
		     uint8_t *out)
{
	const uint8_t *end = in + len;
	uint8_t *o = out;

	while (in < end) {
		if (d->nhold == 0) {
			/* escapes come in runs (one per byte of a UTF-8
			 * character): no call for the empty text between them */
			const uint8_t *eq = in;

#ifdef __SSE2__
			/*
			 * The text between escapes is short (a soft break every
			 * 76 columns, an escape per accented letter): copying 16
			 * bytes while looking for '=' in them beats a memchr()
			 * and a memcpy() call per run. Whole steps only while 16
			 * input bytes are left: o never runs ahead of in, so out
			 * (len + 3 bytes) has room for the 16 written.
			 */
			while (end - eq >= 16) {
				__m128i v = _mm_loadu_si128((const __m128i *) eq);
				unsigned m = (unsigned) _mm_movemask_epi8(
					_mm_cmpeq_epi8(v, _mm_set1_epi8('=')));

				_mm_storeu_si128((__m128i *) o, v);
				if (m != 0) {
					unsigned k = (unsigned) __builtin_ctz(m);

					o += k;
					eq += k;
					goto escape;
				}
				o += 16;
				eq += 16;
			}
#endif
			in = eq;
			if (in == end)
				break;
			eq = *in == '=' ? in :
				memchr(in, '=', (size_t) (end - in));

			size_t n = eq ? (size_t) (eq - in) : (size_t) (end - in);

			if (n) {
				memcpy(o, in, n);
				o += n;
			}
			if (eq == NULL)
				break;
#ifdef __SSE2__
escape:
#endif
			in = eq;
			/* whole escapes and soft breaks in place: the common case,
			 * with the same result as the state machine below */
			if (end - eq >= 3) {
				int h1 = mime_hexval(eq[1]), h2 = mime_hexval(eq[2]);

				if (h1 >= 0 && h2 >= 0) {
					*o++ = (uint8_t) (h1 << 4 | h2);
					in = eq + 3;
					continue;
				}
				if (eq[1] == '\r' && eq[2] == '\n') {
					in = eq + 3;
					continue;
				}
			}
			d->hold[0] = '=';
			d->nhold = 1;
			in++;
			continue;
		}
		uint8_t c = *in;

		if (d->nhold == 1) {
			in++;
			if (c == '\n') {
				d->nhold = 0;
			} else if (c == '\r') {
				d->hold[1] = '\r';
				d->nhold = 2;
			} else if (c == '=') {
				*o++ = '=';
				d->nhold = 0;
				d->bad++;
			} else if (mime_hexval(c) >= 0) {
				d->hold[1] = c;
				d->nhold = 2;
			} else {
				*o++ = '=';
				d->nhold = 0;
				d->bad++;
				in--;	/* c is ordinary text */
			}
		} else if (d->hold[1] == '\r') {
			/* "=\r": a soft break; anything up to LF is dropped */
			in++;
			if (c == '\n')
				d->nhold = 0;
		} else if (mime_hexval(c) >= 0) {
			in++;
			*o++ = (uint8_t) (mime_hexval(d->hold[1]) << 4 | mime_hexval(c));
			d->nhold = 0;
		} else {
			/* "=X" then non-hex: both passed literally, c reread */
			*o++ = '=';
			*o++ = d->hold[1];
			d->nhold = 0;
			d->bad++;
		}
	}
	return (size_t) (o - out);
}

/* decode_qp_finish - flush an escape left open at the end of the body */
size_t decode_qp_finish(struct decode_qp *d, uint8_t *out)
{
	size_t n = 0;

	if (d->nhold == 2 && d->hold[1] != '\r') {
		out[n++] = '=';
		out[n++] = d->hold[1];
		d->bad++;
	}
	d->nhold = 0;
	return n;
}
