/* http.h - the HTTP API: the control socket's commands over HTTP, for tools that are not on
 * the node (dashboards, scripts, the status page to come).
 *
 * Owns: the listening socket, libmicrohttpd driven from vigild's libuv loop (its epoll fd
 * polled by the loop, its timeouts on a loop timer: no thread of its own), the routes (made
 * from the command table: every command that changes nothing is a GET, every one that does
 * is a POST), the bearer token that every POST needs (checked before the body is read), TLS
 * when a certificate is given, and the mapping of reply codes to HTTP statuses. Must not:
 * interpret commands; the same handler as the control socket's answers them, and its reply
 * (also a deferred one) goes out as the same JSON object.
 *
 * Routes (NAME is a resource or a node; query parameters and a POST's JSON object body become
 * the command's arguments, the name in the path wins):
 *   GET  /metrics                                 Prometheus text (metrics.h), no token
 *   GET  /v1/ping /v1/status /v1/config /v1/events
 *   GET  /v1/resources/NAME                      resource.show
 *   POST /v1/apply                               apply ({"yaml": TEXT})
 *   POST /v1/resources/NAME/{restart,cleanup}
 *   POST /v1/nodes/NAME/{standby,unstandby,maintenance,fence,confirm-down}
 * Statuses: 200 done; 400 a malformed request or body; 401 a POST without the right token;
 * 404 no such route, resource or node; 405 the wrong method for a route; 409 the command
 * failed or was refused in this state; 413 a body over 64 KiB; 503 no quorum or the cluster
 * cannot be reached.
 */
#ifndef VIGIL_HTTP_H
#define VIGIL_HTTP_H

#include <stddef.h>

#include <uv.h>

#include "control.h"

/* ---- types ---------------------------------------------------------------- */

typedef struct vg_http vg_http;

typedef struct {
	const char *listen; /* HOST:PORT, [V6HOST]:PORT; port 0 picks one (vg_http_port) */
	const char *token;  /* the bearer token POSTs need; NULL or "": every POST is refused */
	const char *tls_cert_pem, *tls_key_pem; /* both or neither: HTTPS */
	vg_control_handler handler;
	/* GET /metrics: the exposition text (caller of this frees), NULL when it cannot be made
	 * now (503). NULL callback: no /metrics (404). */
	char *(*metrics)(void *arg);
	void *arg;
} vg_http_opts;

/* ---- functions ------------------------------------------------------------ */

/* Listen and serve from loop. NULL with err filled ("cannot listen on ADDR: ...") when the
 * address is bad or taken, or TLS cannot be set up. Nothing is called before this returns. */
vg_http *vg_http_open(uv_loop_t *loop, const vg_http_opts *o, char *err, size_t errlen);
/* The port listened on. */
int vg_http_port(const vg_http *h);
/* Stop listening and close every connection. As with the control socket, every deferred
 * request must have been finished before. The memory goes with the loop's close callbacks. */
void vg_http_close(vg_http *h);

/* The token in a token file (vigil keygen --api-token): its first line, which must be 32 to
 * 256 printable characters. NULL with err filled otherwise. Caller frees. */
char *vg_http_read_token(const char *path, char *err, size_t errlen);

#endif
