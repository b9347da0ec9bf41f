"""A real HTTP server on 127.0.0.1 (stdlib, in a thread) with scripted misbehaviour."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WeightServer:
    """Serves ``files`` by path; ``mode`` per path scripts failures.

    Modes: ``ok``, ``drop`` (send half, then close), ``slow`` (sleep before answering),
    ``html`` (an HTML error page with status 200), ``flaky`` (HTTP 503 on the first request).
    Unknown paths answer 404. ``hits`` counts requests per path.
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}
        self.hits: dict[str, int] = {}
        self.slow_seconds = 3.0
        self.chunk_delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.lstrip("/")
                server.hits[path] = server.hits.get(path, 0) + 1
                mode = server.modes.get(path, "ok")
                if path not in server.files:
                    self.send_error(404, "Not Found")
                    return
                body = server.files[path]
                if mode == "flaky" and server.hits[path] == 1:
                    self.send_error(503, "Service Unavailable")
                    return
                if mode == "slow":
                    time.sleep(server.slow_seconds)
                if mode == "html":
                    page = b"<!DOCTYPE html><html><body>rate limited</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "drop":
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                step = 4096
                for i in range(0, len(body), step):
                    self.wfile.write(body[i : i + step])
                    if server.chunk_delay:
                        time.sleep(server.chunk_delay)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def __enter__(self) -> WeightServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
