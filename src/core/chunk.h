/* chunk.h - a full-state transfer cut into chunks below Corosync's message size, and their
 * reassembly.
 *
 * Chunk layout: magic "VGC1" | transfer id (u64 LE) | index (u32 LE) | count (u32 LE) |
 * total length (u32 LE) | BLAKE2b-256 of the whole payload (32 bytes) | the chunk's bytes
 * (VG_CHUNK_SIZE each, the last one the rest). Chunks of one transfer come from one sender in
 * agreed order; the receiver takes them in order, and verifies length and hash before handing
 * the payload over. A missing, foreign or corrupt chunk ends the transfer (refused).
 * Pure: buffers only.
 */
#ifndef VIGIL_CHUNK_H
#define VIGIL_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VG_CHUNK_SIZE (512u * 1024) /* payload bytes per chunk */
#define VG_CHUNK_HDR  56
#define VG_CHUNK_HASH 32

/* Chunks needed for total bytes (at least 1). */
uint32_t vg_chunk_count(size_t total);
/* The hash every chunk of payload carries. */
void vg_chunk_hash(const void *payload, size_t total, uint8_t out[VG_CHUNK_HASH]);
/* Chunk index of payload (malloc'd, *len bytes). NULL on OOM or index out of range. */
uint8_t *vg_chunk_build(uint64_t id, const void *payload, size_t total,
			const uint8_t hash[VG_CHUNK_HASH], uint32_t index, size_t *len);

/* A transfer being reassembled (zero-initialise; vg_chunk_reset releases). */
typedef struct {
	bool active;
	uint32_t from;
	uint64_t id;
	uint32_t next, count;
	size_t total, have;
	uint8_t hash[VG_CHUNK_HASH];
	uint8_t *buf;
} vg_chunk_asm;

typedef enum { VG_CHUNK_MORE, VG_CHUNK_DONE, VG_CHUNK_REFUSED } vg_chunk_result;

/* Take one chunk from node from. Index 0 starts a transfer (dropping a partial one); any other
 * must be the next of the transfer under way. DONE: the payload is complete and verified
 * (vg_chunk_take it). REFUSED (err says why): the transfer is dropped. */
vg_chunk_result vg_chunk_add(vg_chunk_asm *a, uint32_t from, const void *msg, size_t len,
			     size_t max_total, char *err, size_t errlen);
/* The completed payload (malloc'd, NUL-terminated, *len bytes); the assembler is reset. */
uint8_t *vg_chunk_take(vg_chunk_asm *a, size_t *len);
/* Drop a partial transfer (e.g. on a membership change). */
void vg_chunk_reset(vg_chunk_asm *a);

#endif
