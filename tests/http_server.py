"""A real HTTP server on 127.0.0.1 for download tests: serves bytes with Range support and failure modes."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ArchiveServer:
    """Serve ``files`` (path -> bytes). Per path options: ``ignore_range`` and ``cut_after`` (bytes)."""

    def __init__(self, files: dict[str, bytes], ignore_range=(), cut_after: dict[str, int] | None = None):
        self.files, self.ignore_range, self.cut_after = files, set(ignore_range), dict(cut_after or {})
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                range_header = self.headers.get("Range")
                server.requests.append((self.path, range_header))
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
                payload = body[start:]
                cut = server.cut_after.pop(self.path, None)  # fail once, mid-transfer
                if cut is not None:
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
