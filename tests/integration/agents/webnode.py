"""webnode - the web service of the cluster tests: answers every GET with the name of the node
it runs on (`uname -n`, which inside a netlab node is the node's name) and a newline.

Usage: webnode.py [PORT] [--term-delay SECONDS] [--term-delay-file PATH]
  PORT defaults to 8080 (on 0.0.0.0). Runs until killed.
  --term-delay S: a service slow to stop: on SIGTERM it keeps serving for S seconds, then exits
    (further SIGTERMs are ignored meanwhile; SIGKILL still ends it at once).
  --term-delay-file PATH: the same, with S read from PATH when SIGTERM arrives (no file, or
    not a number: no delay), so a test can make a running service slow to stop.
  Without either, SIGTERM ends it at once (the default action).

Must not: write anything to disk or log each request (the tests poll it every 50 ms).
"""
import http.server
import os
import signal
import socketserver
import sys
import threading

NODE = os.uname().nodename.encode() + b"\n"


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(NODE)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(NODE)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    allow_reuse_address = True
    daemon_threads = True


def term_delay(fixed, path):
    if path:
        try:
            with open(path) as f:
                return max(0.0, float(f.read().strip() or 0))
        except (OSError, ValueError):
            return 0.0
    return fixed


def main():
    args = sys.argv[1:]
    port, fixed, path = 8080, 0.0, None
    while args:
        a = args.pop(0)
        if a == "--term-delay":
            fixed = float(args.pop(0))
        elif a == "--term-delay-file":
            path = args.pop(0)
        else:
            port = int(a)
    if fixed > 0 or path:
        pending = []

        def on_term(_sig, _frame):
            if pending:
                return  # already on its way out
            delay = term_delay(fixed, path)
            if delay <= 0:
                os._exit(0)
            t = threading.Timer(delay, os._exit, (0,))
            t.daemon = True
            pending.append(t)
            t.start()
        signal.signal(signal.SIGTERM, on_term)
    Server(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
