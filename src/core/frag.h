/* frag.h - the framing of vigil's CPG messages, so that none is larger than what libcpg sends
 * without blocking.
 *
 * Owns: the wire frame of every message corosync_membership.c multicasts: 'W' + the message, or, for a
 * message longer than VG_FRAG_PAYLOAD, pieces 'F' + id, total length and offset (32 bits
 * each, network order) + up to VG_FRAG_PAYLOAD bytes; and their reassembly per sender (node
 * id and process id: Corosync delivers one sender's messages in the order sent, so pieces come
 * in order; a piece out of order or a new message before the end drops the unfinished one).
 * A message counts as delivered when its last piece is.
 * Must not: talk to Corosync or read a clock.
 */
#ifndef VIGIL_FRAG_H
#define VIGIL_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libcpg sends a message larger than its IPC buffer (1 MiB) in fragments, each waiting for
 * Corosync's answer without a timeout: pieces stay well below that. */
#define VG_FRAG_PAYLOAD (256 * 1024)
#define VG_FRAG_HEADER	13
/* The largest message vigil frames (a state of this size is not sent at all). */
#define VG_FRAG_MAX_MESSAGE (256u * 1024 * 1024)

/* How many frames a message of len bytes needs (1: a whole one). */
size_t vg_frag_count(size_t len);
/* Frame k of the message into out (room for VG_FRAG_HEADER + VG_FRAG_PAYLOAD bytes); returns
 * the frame's length. id tells this sender's messages apart. */
size_t vg_frag_frame(const void *data, size_t len, uint32_t id, size_t k, unsigned char *out);

typedef struct vg_frag_rx vg_frag_rx;
vg_frag_rx *vg_frag_rx_new(void);
void vg_frag_rx_free(vg_frag_rx *rx);
/* A frame delivered from (node, pid). 1: a whole message is in *out / *out_len (valid until
 * the next call); 0: a piece, more to come; -1: malformed or out of order (dropped, with the
 * unfinished message of that sender). */
int vg_frag_rx_feed(vg_frag_rx *rx, uint32_t node, uint32_t pid, const void *frame, size_t len,
		    const void **out, size_t *out_len);
/* That sender left the group: its unfinished message will never end. pid 0: every process of
 * the node. */
void vg_frag_rx_forget(vg_frag_rx *rx, uint32_t node, uint32_t pid);
/* How many unfinished messages are kept. */
size_t vg_frag_rx_pending(const vg_frag_rx *rx);

#endif
