/* control.h - the local control socket: one JSON request, one JSON reply, per connection.
 *
 * Owns: the unix socket (root only: mode 0600, peer credentials checked), framing (one line
 * of JSON each way, 64 KiB at most) and malformed-request replies. Must not: interpret
 * commands; the handler given by vigild does.
 */
#ifndef VIGIL_CONTROL_H
#define VIGIL_CONTROL_H

#include <stddef.h>

#include <jansson.h>
#include <uv.h>

/* ---- types ---------------------------------------------------------------- */

/* Reply codes follow the CLI's exit codes: 0 ok, 1 operation failed, 2 bad request. */
typedef struct {
	int code;
	json_t *result; /* owned by the reply (may be NULL) */
	char error[512];
} vg_control_reply;

/* Handle `cmd` with its arguments (an object, never NULL); fill reply. */
typedef void (*vg_control_handler)(void *arg, const char *cmd, json_t *args,
				   vg_control_reply *reply);

typedef struct vg_control vg_control;

/* ---- functions ------------------------------------------------------------ */

vg_control *vg_control_open(uv_loop_t *loop, const char *path, vg_control_handler h, void *arg,
			    char *err, size_t errlen);
void vg_control_close(vg_control *c);

/* Client side (the CLI): send {"cmd":..., "args":...} and wait for the reply, with a
 * timeout. Returns the parsed reply object, or NULL with err filled when unreachable. */
json_t *vg_control_call(const char *path, const char *cmd, json_t *args, int timeout_ms, char *err,
			size_t errlen);

#endif
