"""webnode - the web service of the cluster tests: answers every GET with the name of the node
it runs on (`uname -n`, which inside a netlab node is the node's name) and a newline.

Usage: webnode.py [PORT]   (default 8080, on 0.0.0.0). Runs until killed.

Must not: write anything to disk or log each request (the tests poll it every 50 ms).
"""
import http.server
import os
import socketserver
import sys

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


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8080
    Server(("0.0.0.0", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
