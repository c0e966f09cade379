/* replog.h - the change log's record codec and its replay onto a snapshot.
 *
 * DIR/changes.log holds the changes applied since DIR/state.json was written, one record
 * per change, appended in the order applied:
 *   magic "VGL1" | payload length (u32 LE) | version (u64 LE) | history id (32 bytes) |
 *   checksum (16 bytes: BLAKE2b-128 of everything before it and the payload) | payload
 * The payload is the change as delivered (repstate.h's message JSON); version and id are
 * the state's after applying it. A torn tail (a crash mid-write) or a corrupt record ends
 * the log: it and everything after it are dropped on load.
 * Pure: works on buffers; the file belongs to store.c.
 */
#ifndef VIGIL_REPLOG_H
#define VIGIL_REPLOG_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "repstate.h"

#define VG_REPLOG_HDR 64 /* bytes before the payload */

typedef struct {
	uint64_t version;
	vg_hid id;
	const char *payload; /* into the parsed buffer */
	size_t len;
} vg_replog_record;

/* Bytes one record with a payload of len takes. */
size_t vg_replog_record_size(size_t len);
/* Write the record into out (vg_replog_record_size(len) bytes). */
void vg_replog_record_put(uint8_t *out, uint64_t version, const vg_hid *id, const void *payload,
			  size_t len);
/* Parse the record at the start of buf: its size, 0 when buf is empty, -1 when it is torn
 * (shorter than its header says) or corrupt (magic, length over VG_REPMSG_MAX, checksum). */
long vg_replog_record_get(const uint8_t *buf, size_t len, vg_replog_record *out);

/* Replay a log onto s, the snapshot it follows: records at or below s->version are skipped
 * (a snapshot written just before the log was emptied), the next ones applied in order,
 * each only if it is the next version and applying it gives the id it recorded. Returns the
 * length of the good prefix (everything else is to be dropped, the reason in why);
 * *applied counts the changes applied. */
size_t vg_replog_replay(vg_repstate *s, const uint8_t *buf, size_t len, size_t *applied, char *why,
			size_t whylen);

#endif
