/*
 * test_filetype.c - one sample per true type
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "filetype.h"

/* ft - detect a sample given as a C string literal with its length */
#define TEXT_ROUNDS	20000	/* random heads typed both ways */
#define FT(lit)	filetype_detect((const uint8_t *) (lit), sizeof(lit) - 1)

static void test_executables_are_recognised(void **state)
{
	assert_int_equal(FT("MZ\x90\x00\x03"), FT_PE);
	assert_int_equal(FT("\x7F" "ELF\x02\x01\x01"), FT_ELF);
	assert_int_equal(FT("\xCF\xFA\xED\xFE\x07\x00"), FT_MACHO);
	assert_int_equal(FT("\xFE\xED\xFA\xCE\x00"), FT_MACHO);
	assert_int_equal(FT("\xCA\xFE\xBA\xBE\x00\x00\x00\x02"), FT_MACHO);
	assert_int_equal(FT("\xCA\xFE\xBA\xBE\x00\x00\x00\x34"),
			 FT_JAVA_CLASS);
	assert_int_equal(FT("#!/bin/sh\necho hi\n"), FT_SCRIPT);
	assert_int_equal(FT("L\x00\x00\x00\x01\x14\x02\x00\x00"), FT_LNK);
}

/* test_short_magics_in_plain_text_are_text - "MZ", "BZh", "#!", 1F 8B */
static void test_short_magics_in_plain_text_are_text(void **state)
{
	static uint8_t pe[512];

	assert_int_equal(FT("MZ Holdings: annual report attached\r\n"), FT_TEXT);
	assert_int_equal(FT("BZhang wrote the minutes\r\n"), FT_TEXT);
	assert_int_equal(FT("#!!! urgent, read this\r\n"), FT_TEXT);
	assert_int_equal(FT("#! /usr/bin/env python3\n"), FT_SCRIPT);
	assert_int_equal(FT("BZh91AY&SY"), FT_BZIP2);
	assert_int_equal(FT("\x1F\x8B\x08\x00"), FT_GZIP);
	/* a real PE: e_lfanew at 0x3C points at "PE\0\0", even if the DOS
	 * stub between looks like text */
	memset(pe, 'A', sizeof(pe));
	memcpy(pe, "MZ", 2);
	pe[0x3C] = 0x80;
	pe[0x3D] = pe[0x3E] = pe[0x3F] = 0;
	memcpy(pe + 0x80, "PE\0\0", 4);
	assert_int_equal(filetype_detect(pe, sizeof(pe)), FT_PE);
	memcpy(pe + 0x80, "XX\0\0", 4);
	assert_int_equal(filetype_detect(pe, sizeof(pe)), FT_UNKNOWN);
}

static void test_archives_are_recognised(void **state)
{
	assert_int_equal(FT("PK\x03\x04\x14\x00\x00\x00\x08\x00\x00\x00\x00"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x05\x00\x00\x00a.txt"), FT_ZIP);
	assert_int_equal(FT("Rar!\x1A\x07\x00\xCF"), FT_RAR);
	assert_int_equal(FT("Rar!\x1A\x07\x01\x00\x33"), FT_RAR);
	assert_int_equal(FT("7z\xBC\xAF\x27\x1C\x00\x04"), FT_7Z);
	assert_int_equal(FT("\x1F\x8B\x08\x00"), FT_GZIP);
	assert_int_equal(FT("BZh91AY&SY"), FT_BZIP2);
	assert_int_equal(FT("\xFD" "7zXZ\x00\x00"), FT_XZ);
	assert_int_equal(FT("MSCF\x00\x00\x00\x00"), FT_CAB);
}

static void test_ooxml_is_told_from_zip_by_first_entry(void **state)
{
	assert_int_equal(FT("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00\x21"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x13\x00\x00\x00[Content_Types].xml"),
			 FT_OOXML);
	assert_int_equal(FT("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00\x21"
			    "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x0B\x00\x00\x00word/doc.xml"), FT_OOXML);
}

static void test_documents_are_recognised(void **state)
{
	assert_int_equal(FT("%PDF-1.7\n"), FT_PDF);
	assert_int_equal(FT("\r\n\x00junk%PDF-1.4\n"), FT_PDF);
	assert_int_equal(FT("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00"), FT_OLE);
	assert_int_equal(FT("{\\rtf1\\ansi"), FT_RTF);
}

static void test_html_after_whitespace_any_case(void **state)
{
	assert_int_equal(FT("  \r\n<!DOCTYPE HTML><html>"), FT_HTML);
	assert_int_equal(FT("<Script>alert(1)</script>"), FT_HTML);
	assert_int_equal(FT("\xEF\xBB\xBF<body>x"), FT_HTML);
}

static void test_media_are_recognised(void **state)
{
	assert_int_equal(FT("\xFF\xD8\xFF\xE0\x00\x10JFIF"), FT_JPEG);
	assert_int_equal(FT("\x89PNG\r\n\x1A\n\x00"), FT_PNG);
	assert_int_equal(FT("GIF89a\x01\x00"), FT_GIF);
}

static void test_text_scripts_and_empty(void **state)
{
	assert_int_equal(filetype_detect((const uint8_t *) "", 0), FT_EMPTY);
	assert_int_equal(FT("Hello Bob,\r\nsee you.\r\n"), FT_TEXT);
	assert_int_equal(FT("Gr\xFC\xDF" "e aus K\xF6ln\n"), FT_TEXT);
	assert_int_equal(FT("var x = new ActiveXObject('WScript.Shell');"),
			 FT_JS);
	assert_int_equal(FT("Dim sh\r\nSet sh = CreateObject(\"WScript.Shell\")"),
			 FT_VBS);
	assert_int_equal(FT("\x00\x01\x02\x03\x04\x05"), FT_UNKNOWN);
}

static void test_iso_needs_its_descriptor_within_the_head(void **state)
{
	static uint8_t iso[0x8010];

	memcpy(iso + 0x8001, "CD001", 5);
	assert_int_equal(filetype_detect(iso, sizeof(iso)), FT_ISO);
	assert_int_equal(filetype_detect(iso, FILETYPE_HEAD_MAX), FT_UNKNOWN);
}

static void test_names_round_trip(void **state)
{
	for (int t = 0; t < FT_COUNT; t++) {
		enum filetype back;

		assert_int_equal(filetype_from_name(filetype_name(t), &back), 0);
		assert_int_equal(back, t);
	}
	assert_int_equal(filetype_is_executable(FT_PE), 1);
	assert_int_equal(filetype_is_executable(FT_PDF), 0);
}

/* text_rnd - xorshift, fixed seed: the same inputs every run */
static unsigned text_rnd(unsigned n)
{
	static uint64_t x = 0x9E3779B97F4A7C15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (unsigned) (x >> 11) % n;
}

/* The 64-byte AVX-512 skip to the first control byte and the 16-byte
 * SSE2 one give the same type, for control bytes (NUL included) at
 * every position, few and many, at every head length. */
static void test_text_test_is_the_same_with_and_without_wide_steps(
	void **state)
{
	static const uint8_t odd[] = { 0x01, 0x07, 0x0B, 0x0C, 0x1B, 0x1F,
				       0x00, 0x7F, 0x80, 0xC3 };
	uint8_t h[FILETYPE_HEAD_MAX];

	(void) state;
	for (int round = 0; round < TEXT_ROUNDS; round++) {
		size_t len = 1 + text_rnd(FILETYPE_HEAD_MAX);
		unsigned nodd = text_rnd(4) == 0 ? 0 : text_rnd(16);

		for (size_t i = 0; i < len; i++)
			h[i] = text_rnd(12) == 0 ? "\r\n\t "[text_rnd(4)]
				: (uint8_t) ('a' + text_rnd(26));
		for (unsigned k = 0; k < nodd; k++)
			h[text_rnd((unsigned) len)] = odd[text_rnd(sizeof(odd))];
		filetype_simd_limit(0);
		enum filetype narrow = filetype_detect(h, len);

		filetype_simd_limit(1);
		assert_int_equal(filetype_detect(h, len), narrow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_executables_are_recognised),
		cmocka_unit_test(test_short_magics_in_plain_text_are_text),
		cmocka_unit_test(test_archives_are_recognised),
		cmocka_unit_test(test_ooxml_is_told_from_zip_by_first_entry),
		cmocka_unit_test(test_documents_are_recognised),
		cmocka_unit_test(test_html_after_whitespace_any_case),
		cmocka_unit_test(test_media_are_recognised),
		cmocka_unit_test(test_text_scripts_and_empty),
		cmocka_unit_test(test_iso_needs_its_descriptor_within_the_head),
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_text_test_is_the_same_with_and_without_wide_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
