/*
 * envelope.h - the SMTP envelope of one message
 *
 *	An envelope is filled by whoever received the message (the SMTP
 *	session, or `mxgate scan` from its options) and read by the scanner
 *	(envelope scope, sender/recipient conditions) and the policy (the
 *	recipient domain selects the policy). Strings are NUL-terminated and
 *	owned by the caller for the life of the scan.
 */
#ifndef MX_ENVELOPE_H
#define MX_ENVELOPE_H

#include <stddef.h>

struct envelope {
	const char *client_addr;	/* "198.18.0.2", "" if unknown */
	const char *client_name;	/* reverse DNS name, "" if unknown */
	const char *helo;		/* as given, "" if none */
	const char *mail_from;		/* without <>, "" for the null sender */
	const char *const *rcpt;	/* without <> */
	size_t nrcpt;
};

#endif
