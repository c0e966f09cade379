/* control.h - the local control socket: one JSON request, one JSON reply, per connection.
 *
 * Owns: the unix socket (root only: mode 0600, peer credentials checked), framing (one line
 * of JSON each way, 64 KiB at most) and malformed-request replies. Must not: interpret
 * commands; the handler given by vigild does.
 */
#ifndef VIGIL_CONTROL_H
#define VIGIL_CONTROL_H

#include <stddef.h>

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

/* ---- types ---------------------------------------------------------------- */

/* A request whose reply may come later (vg_control_defer), from any way in (this socket,
 * the HTTP API): each embeds one and says how its reply goes out. */
typedef struct vg_control_conn vg_control_conn;
typedef struct vg_control_reply vg_control_reply;
struct vg_control_conn {
	/* Send r back to whoever asked (r->result is not released); called once. */
	void (*send)(vg_control_conn *self, const vg_control_reply *r);
};

/* Reply codes follow the CLI's exit codes: 0 ok, 1 operation failed, 2 bad request,
 * 3 no quorum / cluster unreachable. */
struct vg_control_reply {
	int code;
	json_t *result; /* owned by the reply (may be NULL) */
	char error[512];
	bool not_found;		/* the request named a command or object that does not exist */
	vg_control_conn *conn_; /* private: set by the server, used by vg_control_defer */
	bool deferred_;
};

/* Handle `cmd` with its arguments (an object, never NULL); fill reply. */
typedef void (*vg_control_handler)(void *arg, const char *cmd, json_t *args,
				   vg_control_reply *reply);

typedef struct vg_control vg_control;

/* ---- functions ------------------------------------------------------------ */

vg_control *vg_control_open(uv_loop_t *loop, const char *path, vg_control_handler h, void *arg,
			    char *err, size_t errlen);
void vg_control_close(vg_control *c);

/* Inside the handler: the reply will be given later with vg_control_finish (e.g. once a
 * change has gone through the cluster). The handler leaves `reply` untouched after this.
 * Every deferred connection must be finished, also before vg_control_close. */
vg_control_conn *vg_control_defer(vg_control_reply *reply);
/* Send the reply of a deferred request; reply->result is released. */
void vg_control_finish(vg_control_conn *conn, vg_control_reply *reply);
/* Take a deferred request up again (e.g. once the data it waited for is there): a reply as a
 * handler gets one, for code written for the handler, which may fill it or defer it again;
 * then vg_control_settle sends it unless it was deferred again. */
vg_control_reply vg_control_resume(vg_control_conn *conn);
void vg_control_settle(vg_control_reply *reply);

/* The reply as every way in sends it: {"ok": BOOL, "code": INT, "result": ..., "error": STR}
 * (result when there is one, error when code is not 0). Caller releases. */
json_t *vg_control_reply_json(const vg_control_reply *r);

/* Client side (the CLI): send {"cmd":..., "args":...} and wait for the reply, with a
 * timeout. Returns the parsed reply object, or NULL with err filled when unreachable. */
json_t *vg_control_call(const char *path, const char *cmd, json_t *args, int timeout_ms, char *err,
			size_t errlen);

#endif
