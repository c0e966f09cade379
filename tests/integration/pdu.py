"""pdu - the test topology's power switch: a unix-socket server that fence_vigiltest talks to.

Owns: powering lab nodes off on request, exactly as the topology's crash does (Node.crash():
the node's link down, then SIGKILL of its PID 1), and recording every request. The socket is
in the lab's directory, which every node sees at the same path (nodes share the machine's
/tmp), so the agent can run inside any node.

Protocol (one exchange per connection): request line `ACTION NODE` (NODE "-" for list and
monitor), reply line `ok ...` or `error ...`. off/reboot power the node off (a reboot does not
bring it back: a new holder is the test's business, see on_hook); on only records (and calls
on_hook); status answers `ok on` or `ok off`; list answers `ok n1 n2 ...`; monitor `ok`.

Knobs: `fail = True` makes every request answer `error ...`; `hang = True` makes it keep the
connection without answering (until hang is cleared or close()).

Must not: block the test without a bound (the server thread polls a stop flag; close() joins
with a bound), or touch nodes other than the one named in a request.
"""
import os
import socket
import threading
import time

import netlab

AGENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agents", "fence",
                     "fence_vigiltest")


class Pdu:
    """Serves fence_vigiltest for one lab. Use as a context manager or call close()."""

    def __init__(self, lab, path=None):
        self.lab = lab
        self.path = path or os.path.join(lab.dir, "pdu.sock")
        self.requests = []  # (action, node, time.monotonic()) in arrival order
        self.fail = False
        self.hang = False
        self.on_hook = None  # called as on_hook(action, node) for "on" and "reboot"
        self.errors = []  # exceptions raised while serving (a test may assert it is empty)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handlers = []
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        os.chmod(self.path, 0o666)
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._thread = threading.Thread(target=self._serve, name="pdu", daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what tests read
    def actions(self, node=None):
        """[(action, node)] of the requests so far (for `node` only when given)."""
        with self._lock:
            return [(a, n) for a, n, _ in self.requests if node is None or n == node]

    def device_yaml(self, name="pdu", targets=None, level=1, timeout="20s", extra=""):
        """A `fence_devices:` list item using fence_vigiltest with this PDU's socket."""
        targets = targets if targets is not None else list(self.lab.nodes)
        return (f"  - name: {name}\n"
                f"    agent: {AGENT}\n"
                f"    params: {{socket: {self.path}{extra}}}\n"
                f"    targets: [{', '.join(targets)}]\n"
                f"    level: {level}\n"
                f"    timeout: {timeout}\n")

    # -- serving
    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            except OSError as e:
                if not self._stop.is_set():
                    self.errors.append(e)
                return
            t = threading.Thread(target=self._handle, args=(conn,), name="pdu-conn",
                                 daemon=True)
            with self._lock:
                self._handlers = [h for h in self._handlers if h.is_alive()] + [t]
            t.start()

    def _handle(self, conn):
        try:
            conn.settimeout(5)
            buf = b""
            while b"\n" not in buf and len(buf) < 1024:
                chunk = conn.recv(1024)
                if not chunk:
                    break
                buf += chunk
            line = buf.split(b"\n", 1)[0].decode(errors="replace").strip()
            action, _, node = line.partition(" ")
            node = node.strip()
            with self._lock:
                self.requests.append((action, node, time.monotonic()))
            if self.hang:
                # keep the agent waiting (its own timeout, or vigil's, must end it)
                while self.hang and not self._stop.wait(0.05):
                    pass
                return
            reply = self._answer(action, node)
            conn.sendall(reply.encode() + b"\n")
        except Exception as e:  # noqa: BLE001 - reported through self.errors
            self.errors.append(e)
        finally:
            conn.close()

    def _answer(self, action, node):
        if self.fail:
            return f"error PDU failure (test): {action} {node} refused"
        if action == "list":
            return "ok " + " ".join(self.lab.nodes)
        if action == "monitor":
            return "ok"
        host = self.lab.nodes.get(node)
        if host is None:
            return f"error unknown node {node!r}"
        if action == "status":
            return "ok on" if self._powered(host) else "ok off"
        if action in ("off", "reboot"):
            was_on = self._powered(host)
            if was_on:
                host.crash()
            if action == "reboot" and self.on_hook:
                self.on_hook(action, node)
            return f"ok {node} {'powered off' if was_on else 'was already off'}"
        if action == "on":
            if self.on_hook:
                self.on_hook(action, node)
            return f"ok {node} on requested"
        return f"error unknown action {action!r}"

    @staticmethod
    def _powered(host):
        return host.pid is not None and netlab._pid_alive(host.pid)

    def close(self):
        """Stop serving and remove the socket (idempotent; bounded)."""
        if self._stop.is_set():
            return
        self._stop.set()
        self.hang = False
        self._thread.join(5)
        with self._lock:
            handlers = list(self._handlers)
        for h in handlers:
            h.join(5)
        self._sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass
