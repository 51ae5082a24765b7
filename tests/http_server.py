"""A real HTTP server on 127.0.0.1 for download tests: serves bytes with Range support and failure modes."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ArchiveServer:
    """Serve ``files`` (path -> bytes), honouring Range requests, with failure modes per path.

    ``ignore_range``: paths always answered whole (200), Range or not.
    ``cut_after``: path -> bytes sent before the connection is shut down, once.
    ``stall_after``: path -> bytes sent before the server goes silent for ``stall_s`` (longer than any
    client timeout; cut short when the server closes), once.
    ``fail_times``: path -> ``(status, count)`` or ``(status, count, retry_after)``: the first ``count``
    requests get that status (and that Retry-After header) and no body.
    ``requests`` records every request as (path, Range header or None).
    """

    def __init__(self, files: dict[str, bytes], ignore_range=(), cut_after: dict[str, int] | None = None,
                 stall_after: dict[str, int] | None = None, fail_times: dict[str, tuple] | None = None,
                 stall_s: float = 30.0):
        self.files, self.ignore_range, self.cut_after = files, set(ignore_range), dict(cut_after or {})
        self.stall_after, self.stall_s = dict(stall_after or {}), stall_s
        self.fail_times = dict(fail_times or {})
        self.requests: list[tuple[str, str | None]] = []
        self.closing = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                range_header = self.headers.get("Range")
                server.requests.append((self.path, range_header))
                failure = server.take_failure(self.path)
                if failure is not None:
                    self.send_failure(*failure)
                    return
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if range_header and self.path not in server.ignore_range:
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                self.send_payload(body[start:])

            def send_failure(self, status: int, retry_after: str | None):
                self.send_response(status)
                if retry_after is not None:
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def send_payload(self, payload: bytes):
                cut = server.cut_after.pop(self.path, None)  # fail once, mid-transfer
                stall = server.stall_after.pop(self.path, None)  # go silent once, mid-transfer
                self.wfile.write(payload[:cut if cut is not None else stall])  # [:None] is all of it
                self.wfile.flush()
                if cut is not None:
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif stall is not None:
                    server.closing.wait(server.stall_s)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def take_failure(self, path: str) -> tuple[int, str | None] | None:
        """The (status, Retry-After) to answer ``path`` with while it has failures left; counts one down."""
        with self.lock:
            status, count, *retry_after = self.fail_times.get(path, (200, 0))
            if count <= 0:
                return None
            self.fail_times[path] = (status, count - 1, *retry_after)
        return status, (str(retry_after[0]) if retry_after else None)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.closing.set()  # end any stall at once
        self.httpd.shutdown()
        self.httpd.server_close()


def refused_url(path: str = "/a.zip") -> str:
    """A URL on a 127.0.0.1 port that nothing listens on, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
