/*
 * filetype.h - the true type of a payload, from its leading bytes
 *
 *	enum filetype filetype_detect(const uint8_t *head, size_t len);
 *	const char *filetype_name(enum filetype t);
 *	int filetype_from_name(const char *name, enum filetype *out);
 *	int filetype_is_executable(enum filetype t);
 *	void filetype_simd_limit(int wide);
 *
 * DESCRIPTION
 *	filetype_detect() looks only at the first FILETYPE_HEAD_MAX bytes of
 *	a decoded payload (fewer if the payload is shorter) and never at its
 *	name or declared Content-Type: a renamed executable is still an
 *	executable.
 *
 *	filetype_name() returns the stable lower-case name used in rules,
 *	JSON output and logs ("pe", "zip", "pdf", ...). filetype_from_name()
 *	is its inverse; it returns -1 for an unknown name.
 */
#ifndef MX_FILETYPE_H
#define MX_FILETYPE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of a payload that detection may look at. */
#define FILETYPE_HEAD_MAX 512

enum filetype {
	FT_UNKNOWN = 0,	/* binary we do not recognise */
	FT_TEXT,	/* printable text, no stronger signature */
	FT_EMPTY,	/* zero bytes */
	/* executables */
	FT_PE,		/* MZ: Windows/DOS executable or DLL */
	FT_ELF,
	FT_MACHO,
	FT_JAVA_CLASS,
	/* archives and compressed data */
	FT_ZIP,
	FT_RAR,
	FT_7Z,
	FT_GZIP,
	FT_BZIP2,
	FT_XZ,
	FT_CAB,
	FT_ISO,
	/* documents */
	FT_PDF,
	FT_OLE,		/* legacy Office (doc/xls/ppt, msi) */
	FT_OOXML,	/* zip holding [Content_Types].xml: docx/xlsx/pptx */
	FT_RTF,
	/* scripts */
	FT_SCRIPT,	/* #! shebang */
	FT_HTML,
	FT_JS,		/* heuristic: leading JavaScript keywords */
	FT_VBS,		/* heuristic */
	FT_LNK,		/* Windows shortcut */
	/* media */
	FT_JPEG,
	FT_PNG,
	FT_GIF,
	FT_COUNT
};

enum filetype filetype_detect(const uint8_t *head, size_t len);
const char *filetype_name(enum filetype t);
int filetype_from_name(const char *name, enum filetype *out);
int filetype_is_executable(enum filetype t);
void filetype_simd_limit(int wide);

#endif
