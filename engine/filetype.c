/*
 * filetype.c - the true type of a payload, from its leading bytes
 *
 *	enum filetype filetype_detect(const uint8_t *head, size_t len);
 *	const char *filetype_name(enum filetype t);
 *	int filetype_from_name(const char *name, enum filetype *out);
 *	int filetype_is_executable(enum filetype t);
 *	void filetype_simd_limit(int wide);
 *
 * DESCRIPTION
 *	Signatures are tried strongest first: fixed magic numbers at offset
 *	0, then signatures that may sit further in (PDF within the head,
 *	ISO 9660 at 0x8001 when the head reaches it), then HTML (after
 *	leading white space, case-insensitive), then the text heuristics:
 *	a payload of printable ASCII/UTF-8 is text, and text that opens with
 *	JavaScript or VBScript statements is reported as such.
 *
 *	CAFEBABE is shared by Java classes and fat Mach-O binaries: the next
 *	32-bit word is a small architecture count for Mach-O and a class
 *	file version (>= 45) for Java.
 *
 *	A ZIP whose first entry is "[Content_Types].xml", "_rels/",
 *	"docProps/", "word/", "xl/" or "ppt/" is OOXML.
 *
 *	Every leaf is typed, text parts included, and the text test reads
 *	the whole head: it skips to the first control byte 64 bytes at a
 *	time with AVX-512BW when the CPU has it (checked once), else 16 at
 *	a time (SSE2). filetype_simd_limit(0) keeps it to SSE2, for tests.
 */
#include <string.h>
#include <strings.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FILETYPE_HAVE_WIDE_CODE	1
#endif

#include "filetype.h"

#define FILETYPE_PDF_WINDOW	1024	/* "%PDF-" may follow junk this far */
#define FILETYPE_ISO_OFFSET	0x8001	/* ISO 9660 volume descriptor id */
#define FILETYPE_FAT_ARCH_MAX	43	/* above this CAFEBABE is Java */
#define FILETYPE_BINARY_PERMILLE 20	/* non-text bytes a text may hold */

static const char *const filetype_names[FT_COUNT] = {
	[FT_UNKNOWN] = "unknown", [FT_TEXT] = "text", [FT_EMPTY] = "empty",
	[FT_PE] = "pe", [FT_ELF] = "elf", [FT_MACHO] = "macho",
	[FT_JAVA_CLASS] = "java-class", [FT_ZIP] = "zip", [FT_RAR] = "rar",
	[FT_7Z] = "7z", [FT_GZIP] = "gzip", [FT_BZIP2] = "bzip2",
	[FT_XZ] = "xz", [FT_CAB] = "cab", [FT_ISO] = "iso", [FT_PDF] = "pdf",
	[FT_OLE] = "ole", [FT_OOXML] = "ooxml", [FT_RTF] = "rtf",
	[FT_SCRIPT] = "script", [FT_HTML] = "html", [FT_JS] = "js",
	[FT_VBS] = "vbs", [FT_LNK] = "lnk", [FT_JPEG] = "jpeg",
	[FT_PNG] = "png", [FT_GIF] = "gif",
};

struct magic {
	const char *bytes;
	size_t len;
	enum filetype type;
};

#define M(s, t)	{ s, sizeof(s) - 1, t }

static const struct magic magics[] = {
	M("MZ", FT_PE),
	M("\x7F" "ELF", FT_ELF),
	M("\xFE\xED\xFA\xCE", FT_MACHO), M("\xFE\xED\xFA\xCF", FT_MACHO),
	M("\xCE\xFA\xED\xFE", FT_MACHO), M("\xCF\xFA\xED\xFE", FT_MACHO),
	M("\xCA\xFE\xBA\xBF", FT_MACHO),
	M("Rar!\x1A\x07\x00", FT_RAR), M("Rar!\x1A\x07\x01\x00", FT_RAR),
	M("7z\xBC\xAF\x27\x1C", FT_7Z),
	M("\x1F\x8B", FT_GZIP),
	M("BZh", FT_BZIP2),
	M("\xFD" "7zXZ\x00", FT_XZ),
	M("MSCF", FT_CAB),
	M("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", FT_OLE),
	M("{\\rtf", FT_RTF),
	M("#!", FT_SCRIPT),
	M("L\x00\x00\x00\x01\x14\x02\x00", FT_LNK),
	M("\xFF\xD8\xFF", FT_JPEG),
	M("\x89PNG\r\n\x1A\n", FT_PNG),
	M("GIF87a", FT_GIF), M("GIF89a", FT_GIF),
};

/* First bytes of the magics above. */
static const uint8_t magic_first[256] = {
	['M'] = 1, [0x7F] = 1, [0xFE] = 1, [0xCE] = 1, [0xCF] = 1,
	[0xCA] = 1, ['R'] = 1, ['7'] = 1, [0x1F] = 1, ['B'] = 1, [0xFD] = 1,
	[0xD0] = 1, ['{'] = 1, ['#'] = 1, ['L'] = 1, [0xFF] = 1, [0x89] = 1,
	['G'] = 1,
};

/* zip_type - ZIP or OOXML, from the first local file name */
static enum filetype zip_type(const uint8_t *h, size_t len)
{
	static const char *const ooxml[] = { "[Content_Types].xml", "_rels/",
		"docProps/", "word/", "xl/", "ppt/" };
	size_t nlen;

	if (len < 30)
		return FT_ZIP;
	nlen = (size_t) h[26] | (size_t) h[27] << 8;
	if (nlen > len - 30)
		nlen = len - 30;
	for (size_t i = 0; i < sizeof(ooxml) / sizeof(ooxml[0]); i++) {
		size_t n = strlen(ooxml[i]);

		if (nlen >= n && memcmp(h + 30, ooxml[i], n) == 0)
			return FT_OOXML;
	}
	return FT_ZIP;
}

#ifdef FILETYPE_HAVE_WIDE_CODE
/* text_skip_avx512 - from h[i], 64 bytes at a time, to the first block
 * with a control byte other than CR, LF or TAB (the SSE2 step of is_text
 * then finds it) */
__attribute__((target("avx512f,avx512bw")))
static size_t text_skip_avx512(const uint8_t *h, size_t i, size_t len)
{
	while (i + 64 <= len) {
		__m512i v = _mm512_loadu_si512((const void *) (h + i));
		uint64_t ctl = _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(0x1F))
			& ~(_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n'))
			    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r'))
			    | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t')));

		if (ctl != 0)
			break;
		i += 64;
	}
	return i;
}

/* filetype_wide_cap - 0 after filetype_simd_limit(0) */
static int filetype_wide_cap = 1;

/* filetype_wide - whether to take the 64-byte step (the CPU is asked
 * once; every thread computes the same answer, so the unlocked cache is
 * harmless) */
static int filetype_wide(void)
{
	static int have = -1;

	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("avx512bw")
		       && __builtin_cpu_supports("avx512f");
	}
	return have && filetype_wide_cap;
}
#endif

/* filetype_simd_limit - wide 0: no step above SSE2 (tests, benches) */
void filetype_simd_limit(int wide)
{
#ifdef FILETYPE_HAVE_WIDE_CODE
	filetype_wide_cap = wide != 0;
#else
	(void) wide;
#endif
}

/* is_text - no NUL and few control bytes: text in any 8-bit charset */
static int is_text(const uint8_t *h, size_t len)
{
	size_t bad = 0;

	for (size_t i = 0; i < len; i++) {
#ifdef FILETYPE_HAVE_WIDE_CODE
		if (len - i >= 64 && filetype_wide())
			i = text_skip_avx512(h, i, len);
#endif
#ifdef __SSE2__
		/* 16 bytes at a time past line ends too: only a control byte
		 * other than CR, LF or TAB stops here (SSE2 is part of x86-64) */
		while (i + 16 <= len) {
			__m128i v = _mm_loadu_si128((const __m128i *) (h + i));
			__m128i ctl = _mm_cmpeq_epi8(
				_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v);
			__m128i ok = _mm_or_si128(
				_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n')),
					     _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))),
				_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')));
			unsigned m = (unsigned) _mm_movemask_epi8(
				_mm_andnot_si128(ok, ctl));

			if (m != 0) {
				i += (size_t) __builtin_ctz(m);
				break;
			}
			i += 16;
		}
#endif
		/* eight bytes at a time while none is below 0x20; then on to
		 * the first one that is (the lowest flag is exact: a borrow
		 * only starts at a flagged byte) */
		while (i + 8 <= len) {
			uint64_t w, low;

			memcpy(&w, h + i, 8);
			low = (w - 0x2020202020202020ULL) & ~w &
			      0x8080808080808080ULL;
			if (low) {
				i += (size_t) __builtin_ctzll(low) / 8;
				break;
			}
			i += 8;
		}
		if (i >= len)
			break;
		uint8_t c = h[i];

		if (c == 0)
			return 0;
		if (c >= 0x20 && c < 0x7F)
			continue;
		if (c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		    c == 0x1B)
			continue;
		/* UTF-8 and the ISO-8859/windows-125x letters alike */
		if (c >= 0x80)
			continue;
		bad++;
	}
	return bad * 1000 <= len * FILETYPE_BINARY_PERMILLE;
}

/* starts_ci - case-insensitive prefix test */
static int starts_ci(const uint8_t *h, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && strncasecmp((const char *) h, s, n) == 0;
}

/* skip_ws - skip a UTF-8 BOM and white space */
static size_t skip_ws(const uint8_t *h, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(h, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' ||
			   h[i] == '\n' || h[i] == '\f'))
		i++;
	return i;
}

/* script_type - JavaScript or VBScript by their usual opening lines */
static enum filetype script_type(const uint8_t *h, size_t len)
{
	static const char *const js[] = { "var ", "let ", "const ",
		"function ", "function(", "(function", "eval(", "document.",
		"window.", "'use strict'", "\"use strict\"", "try{", "try {",
		"new ActiveXObject" };
	static const char *const vbs[] = { "dim ", "set ", "sub ",
		"function ", "on error resume next", "option explicit",
		"createobject(", "wscript.", "private sub ", "rem " };

	if (len == 0)
		return FT_TEXT;
	for (size_t i = 0; i < sizeof(js) / sizeof(js[0]); i++)
		if (h[0] == (uint8_t) js[i][0] && len >= strlen(js[i]) &&
		    memcmp(h, js[i], strlen(js[i])) == 0)
			return FT_JS;
	for (size_t i = 0; i < sizeof(vbs) / sizeof(vbs[0]); i++)
		if ((h[0] | 0x20) == (uint8_t) vbs[i][0] &&
		    starts_ci(h, len, vbs[i]))
			return FT_VBS;
	return FT_TEXT;
}

/*
 * magic_holds - a short magic is not proof on its own: "MZ", "BZh", "#!"
 * and 1F 8B also open ordinary text ("MZ Holdings...", "BZhang", "#!!!").
 * Check what the format puts after them: a PE's e_lfanew points at
 * "PE\0\0" (when both lie in the head; a stub without one must at least
 * not be text), bzip2 has its block size digit, gzip its method byte 8, a
 * shebang its interpreter path.
 */
static int magic_holds(enum filetype t, const uint8_t *h, size_t len)
{
	switch (t) {
	case FT_PE: {
		uint32_t off = len >= 0x40 ? (uint32_t) h[0x3C] |
			(uint32_t) h[0x3D] << 8 | (uint32_t) h[0x3E] << 16 |
			(uint32_t) h[0x3F] << 24 : 0;

		if (off >= 0x40 && off <= len - 4)
			return memcmp(h + off, "PE\0\0", 4) == 0;
		return !is_text(h, len);
	}
	case FT_BZIP2:
		return len >= 4 && h[3] >= '1' && h[3] <= '9';
	case FT_GZIP:
		return len >= 3 && h[2] == 8;
	case FT_SCRIPT:
		return len >= 3 && (h[2] == '/' || (h[2] == ' ' && len >= 4 &&
						    h[3] == '/'));
	default:
		return 1;
	}
}

/* filetype_detect - classify a payload by its head */
enum filetype filetype_detect(const uint8_t *head, size_t len)
{
	size_t i;

	if (len == 0)
		return FT_EMPTY;
	if (len >= 4 && memcmp(head, "\xCA\xFE\xBA\xBE", 4) == 0) {
		uint32_t w = len >= 8 ? (uint32_t) head[4] << 24 |
			(uint32_t) head[5] << 16 | (uint32_t) head[6] << 8 |
			head[7] : 0;

		return w < FILETYPE_FAT_ARCH_MAX ? FT_MACHO : FT_JAVA_CLASS;
	}
	if (len >= 4 && memcmp(head, "PK\x03\x04", 4) == 0)
		return zip_type(head, len);
	/* Only bytes that open a signature are worth the table walk. */
	if (magic_first[head[0]]) {
		for (i = 0; i < sizeof(magics) / sizeof(magics[0]); i++)
			if (len >= magics[i].len &&
			    memcmp(head, magics[i].bytes, magics[i].len) == 0 &&
			    magic_holds(magics[i].type, head, len))
				return magics[i].type;
	}
	size_t win = len < FILETYPE_PDF_WINDOW ? len : FILETYPE_PDF_WINDOW;

	for (const uint8_t *pc = memchr(head, '%', win); pc != NULL;
	     pc = memchr(pc + 1, '%', (size_t) (head + win - pc - 1)))
		if (head + win - pc >= 5 && memcmp(pc, "%PDF-", 5) == 0)
			return FT_PDF;
	if (len >= FILETYPE_ISO_OFFSET + 5 &&
	    memcmp(head + FILETYPE_ISO_OFFSET, "CD001", 5) == 0)
		return FT_ISO;
	i = skip_ws(head, len);
	/* every HTML opener starts with '<': plain text skips the five */
	if (i < len && head[i] == '<' &&
	    (starts_ci(head + i, len - i, "<html") ||
	    starts_ci(head + i, len - i, "<!doctype html") ||
	    starts_ci(head + i, len - i, "<head") ||
	    starts_ci(head + i, len - i, "<body") ||
	     starts_ci(head + i, len - i, "<script")))
		return FT_HTML;
	if (!is_text(head, len))
		return FT_UNKNOWN;
	return script_type(head + i, len - i);
}

/* filetype_name - stable lower-case name of a type */
const char *filetype_name(enum filetype t)
{
	if ((unsigned) t >= FT_COUNT)
		return "unknown";
	return filetype_names[t];
}

/* filetype_from_name - inverse of filetype_name */
int filetype_from_name(const char *name, enum filetype *out)
{
	for (int t = 0; t < FT_COUNT; t++) {
		if (strcasecmp(name, filetype_names[t]) == 0) {
			*out = (enum filetype) t;
			return 0;
		}
	}
	return -1;
}

/* filetype_is_executable - code that runs when opened */
int filetype_is_executable(enum filetype t)
{
	switch (t) {
	case FT_PE: case FT_ELF: case FT_MACHO: case FT_JAVA_CLASS:
	case FT_SCRIPT: case FT_JS: case FT_VBS: case FT_LNK:
		return 1;
	default:
		return 0;
	}
}
