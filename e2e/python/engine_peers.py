"""Real local peers for the engine's channels: an HTTP server that records every request
(webhook receivers, a Twilio-shaped API, an ntfy-shaped server) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import collections
import email
import email.policy
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from conftest import free_port


class Recorder:
    """Records POSTs: path, headers, body. `down` makes it answer 503; paths starting with
    /gone answer 410."""

    def __init__(self):
        self.hits: list[dict] = []
        self.by_key: collections.Counter = collections.Counter()
        self.lock = threading.RLock()
        self.down = False
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                n = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(n).decode("utf-8", "replace")
                status = 200
                if self.path.startswith("/gone"):
                    status = 410
                elif rec.down:
                    status = 503
                else:
                    with rec.lock:
                        rec.hits.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                         "at": time.monotonic()})
                        key = self.headers.get("idempotency-key")
                        if key:
                            rec.by_key[key] += 1
                out = b"{}"
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.port = free_port()
        # The default listen backlog (5) drops connections when Klaxon sends 64 at once.
        ThreadingHTTPServer.request_queue_size = 1024
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        with self.lock:
            return [h["path"] for h in self.hits]

    def wait(self, pred, timeout: float = 20.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if pred(self):
                    return True
            time.sleep(0.05)
        return False

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Smtp:
    """aiosmtpd on a free loopback port, keeping every message."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                outer.messages.append(msg)
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()
