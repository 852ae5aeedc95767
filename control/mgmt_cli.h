/*
 * mgmt_cli.h - the management commands of `mxgate` (mgmt_cli.c)
 *
 *	int mgmt_cli(int argc, char **argv);
 *	int mgmt_cli_connect(int *argc, char ***argv, struct mgmt_client *c,
 *			int *json);
 *
 * DESCRIPTION
 *	mgmt_cli() runs `status`, `messages`, `quarantine` or `token`
 *	(argv[0]). mgmt_cli_connect() removes the connection options (--url,
 *	--token, --token-file, --cacert, --insecure, --state-dir and, when
 *	json is not NULL, --json) from argv and sets up c; other commands
 *	that talk to the API (`mxgate rules`) can use it with
 *	mgmt_client_request() (mgmt_client.h).
 *
 * DIAGNOSTICS
 *	Both return 0, or an exit status (1 refused by the API, 2 usage or
 *	connection error) after printing why.
 */
#ifndef MX_MGMT_CLI_H
#define MX_MGMT_CLI_H

#include "mgmt_client.h"

int mgmt_cli(int argc, char **argv);
int mgmt_cli_connect(int *argc, char ***argv, struct mgmt_client *c, int *json);

#endif
