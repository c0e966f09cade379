/* corosync_conf.h - the corosync.conf and authkey a server node needs, from cluster.yaml. */
#ifndef VIGIL_COROSYNC_CONF_H
#define VIGIL_COROSYNC_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* ---- types ---------------------------------------------------------------- */

/* Return values of the functions below (0 = success). */
enum {
	VG_COROSYNC_EINVAL = -2, /* the configuration or key file is refused */
	VG_COROSYNC_EIO = -1,	 /* a file could not be read or written */
};

/* Corosync 3.1.7 (HZ 100, token_retransmits_before_loss_const 4) derives
 * token_retransmit = (int)(token / 4.2) and refuses it below 30 ms: 126 ms is the smallest
 * token it accepts. vigil also refuses tokens above VG_COROSYNC_TOKEN_MAX_MS. */
#define VG_COROSYNC_TOKEN_MIN_MS 126u
#define VG_COROSYNC_TOKEN_MAX_MS 600000u

/* The totem `hold` vigil writes: how long the ring's representative holds an idle token.
 * After a cut, the two sides time the token out from when each last saw it, so they see
 * the new membership up to about one idle token rotation apart: hold, plus a few ms. Corosync
 * derives hold = token_retransmit * 0.8 - 10 ms (85 ms at token 500: measured skews of
 * +85 ms), beyond cluster.quorum_loss_delay's default of 50 ms; vigil writes at most this. */
#define VG_COROSYNC_HOLD_MAX_MS 20u

/* Size of the authkey vg_corosync_authkey() derives (corosync-keygen's default). */
#define VG_COROSYNC_AUTHKEY_BYTES 256u

/* ---- functions ------------------------------------------------------------ */

/* 0 when Corosync accepts token_ms as its token timeout (with token_coefficient 0 and the
 * default retransmits); VG_COROSYNC_EINVAL with the reason in err otherwise. */
int vg_corosync_check_token(uint32_t token_ms, char *err, size_t errlen);

/* The hold vigil corosync-conf writes for token_ms: Corosync's own default, capped at
 * VG_COROSYNC_HOLD_MAX_MS. */
uint32_t vg_corosync_hold_ms(uint32_t token_ms);

/* The corosync.conf text for server `node` of c (malloc'd into *out, caller frees).
 * Returns 0, or VG_COROSYNC_EINVAL with the reason in err (unknown node, node not a server,
 * fewer than two servers, token or node id Corosync rejects, unusable address). */
int vg_corosync_conf(const vg_config *c, const char *node, char **out, char *err, size_t errlen);

/* Derive Corosync's authkey (len bytes, 16..16384) from the cluster key file: BLAKE2b of the
 * file to a master key, then libsodium KDF subkeys with context "corosync". Deterministic: every
 * node derives the same key. Refuses (VG_COROSYNC_EINVAL) a key file shorter than 32 bytes,
 * not a regular file, or accessible by group or other; VG_COROSYNC_EIO when it cannot be read. */
int vg_corosync_authkey(const char *key_file, unsigned char *out, size_t len, char *err,
			size_t errlen);

/* `vigil corosync-conf -c cluster.yaml -n NODE [--authkey FILE]` (argv[0] is the command name).
 * Prints the conf to out; with --authkey also writes the derived key to FILE (mode 0400,
 * replaced atomically). Exit code: 0 ok, 2 usage or validation error, 1 I/O error. */
int vg_corosync_conf_main(int argc, char **argv, const vg_agent_info *agents, FILE *out, FILE *err);

#endif
