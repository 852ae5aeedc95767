#ifndef MXGATE_TCP_SCRIPT_H
#define MXGATE_TCP_SCRIPT_H

/*
 * tcp_script.h - segment-line helpers of the TCP script harness
 *
 *   int script_parse_pkt(char *text, uint16_t def_port, struct pkt_line *pl);
 *   int script_build_opts(const char *text, uint32_t echo_tsval,
 *                         uint32_t sack_base, uint8_t *o);
 *   void script_opts_render(const uint8_t *p, size_t n, char *out,
 *                           size_t outsz, uint32_t *tsval);
 *   int script_tokens_match(const char *want, const char *got);
 *   void script_flags_str(uint8_t flags, char *out);
 *   uint16_t script_csum16(const uint8_t *seg, size_t len);
 */

#include <stddef.h>
#include <stdint.h>

#define CLIENT_ADDR	0xc6120002U	/* 198.18.0.2 */
#define SERVER_ADDR	0xc6120001U	/* 198.18.0.1 */
#define SERVER_PORT	25
#define LINE_MAX_LEN	1024

/* Parsed "<" or ">" line. */
struct pkt_line {
    uint16_t port, dport;
    int     flags;
    int     seq_any, ack_any, win_any, has_ack, has_win, has_opts, badcsum;
    int     corrupt;			/* flip a payload byte after the sum */
    uint32_t seq, end, len, ack, win;
    char    opts[LINE_MAX_LEN];
};

int     script_parse_pkt(char *text, uint16_t def_port, struct pkt_line *pl);
int     script_build_opts(const char *text, uint32_t echo_tsval,
		          uint32_t sack_base, uint8_t *o);
void    script_opts_render(const uint8_t *p, size_t n, char *out, size_t outsz,
			           uint32_t *tsval);
int     script_tokens_match(const char *want, const char *got);
void    script_flags_str(uint8_t flags, char *out);
uint16_t script_csum16(const uint8_t *seg, size_t len);

#endif
