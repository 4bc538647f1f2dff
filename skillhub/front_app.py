"""The front `manage.py serve` starts by default: granian reads each request whole, then Django runs.

A WSGI server's threads block while they read a request, so a client that trickles its headers or
stops half-way through a body holds a thread for as long as it likes, and a few such clients hold
them all. Here granian (Rust, event-driven) parses the connection and closes a client whose headers
take longer than the client timeout; this RSGI application then awaits the body on the event loop,
closes a client that pauses longer than the client timeout between two reads of it, answers 413 in
the path's own shape for a body over the table of limits (skillhub/limits.py), and only then hands
the complete request to Django on one of a fixed pool of threads. A slow client costs a coroutine,
never a thread. A chunked body reaches Django with a Content-Length, as behind nginx.
"""
from __future__ import annotations

import asyncio
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from skillhub.env import env_bool, env_float, env_int
from skillhub.wsgi import application as wsgi_application

# Bodies up to this size stay in memory; a larger one (an evidence upload) spills to a temp file.
SPOOL_BYTES = 1024 * 1024
# A response larger than this is streamed to the client in parts of about this size.
STREAM_PART = 256 * 1024
# After refusing an oversized body, read and drop at most this much more of it, so a client that is
# still sending gets to read the 413 instead of a reset connection.
DRAIN_BYTES = 64 * 1024 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade"}


class _FileWrapper:
    """wsgi.file_wrapper: a file response is read in large blocks (Django's FileResponse uses it)."""

    def __init__(self, filelike: IO[bytes], block_size: int = STREAM_PART) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.filelike.read(self.block_size):
            yield chunk

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class _TooLarge(Exception):
    pass


class BufferedWSGI:
    """An RSGI application that buffers each request before a worker thread runs the WSGI app on it."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, threads: int, client_timeout: float) -> None:
        self.app = app
        self.threads = threads
        self.client_timeout = client_timeout
        self.pool: ThreadPoolExecutor | None = None

    # granian calls these in each worker process, on its event loop.
    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="skillhub-web")
        if env_bool("SKILLHUB_EMBEDDED_WORKER"):
            from skillhub import embedded

            embedded.start()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        if env_bool("SKILLHUB_EMBEDDED_WORKER"):
            from skillhub import embedded

            embedded.stop()
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        from skillhub import limits

        limit = limits.limit_for(scope.path)
        headers = scope.headers
        declared = headers.get("content-length")
        try:
            declared_length = int(declared) if declared is not None else None
        except ValueError:
            proto.response_bytes(400, [("content-type", "text/plain"), ("connection", "close")], b"Invalid Content-Length\n")
            return
        chunks = proto.__aiter__()  # the body's one iterator
        try:
            if declared_length is not None and declared_length > limit.max_bytes:
                raise _TooLarge
            body, length = await self._read_body(chunks, limit.max_bytes)
        except _TooLarge:
            await self._drain(chunks)
            content_type, message = limit.too_large()
            proto.response_bytes(413, [("content-type", content_type), ("connection", "close")], message)
            return
        except TimeoutError:
            proto.response_empty(408, [("connection", "close")])
            return
        if body is None:
            return  # the client went away
        environ = self._environ(scope, body, length)
        loop = asyncio.get_running_loop()
        try:
            status, response_headers, first, rest = await loop.run_in_executor(self.pool, self._call, environ)
        finally:
            if not isinstance(body, bytes):
                body.close()
        if rest is None:
            proto.response_bytes(status, response_headers, first)
            return
        transport = proto.response_stream(status, response_headers)
        if first:
            await transport.send_bytes(first)
        while True:
            part = await loop.run_in_executor(self.pool, _next_part, rest)
            if part is None:
                break
            await transport.send_bytes(part)

    async def _read_body(self, chunks: Any, max_bytes: int) -> tuple[bytes | IO[bytes] | None, int]:
        """Read the whole body, pausing at most the client timeout between reads; (None, 0) if the client left."""
        parts: list[bytes] = []
        spool: IO[bytes] | None = None
        length = 0
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), self.client_timeout)
                except StopAsyncIteration:
                    break
                length += len(chunk)
                if length > max_bytes:
                    raise _TooLarge
                if spool is not None:
                    spool.write(chunk)
                elif length > SPOOL_BYTES:
                    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
                    spool.writelines(parts)
                    spool.write(chunk)
                    parts = []
                else:
                    parts.append(chunk)
        except (TimeoutError, _TooLarge):
            if spool is not None:
                spool.close()
            raise
        except Exception:  # granian's closed-protocol errors: the client disconnected mid-body
            if spool is not None:
                spool.close()
            return None, 0
        if spool is not None:
            spool.seek(0)
            return spool, length
        return b"".join(parts), length

    async def _drain(self, chunks: Any) -> None:
        taken = 0
        try:
            while taken < DRAIN_BYTES:
                taken += len(await asyncio.wait_for(chunks.__anext__(), self.client_timeout))
        except Exception:  # noqa: BLE001 - the end of the body, a timeout or a gone client all end the drain
            return

    def _environ(self, scope: Any, body: bytes | IO[bytes], length: int) -> dict[str, Any]:
        import io

        host, _, port = scope.server.rpartition(":")
        client = scope.client or ""
        client_host = client.rpartition(":")[0].strip("[]") if ":" in client else client
        environ: dict[str, Any] = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            # PEP 3333: the decoded path's bytes, read as latin-1.
            "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": host.strip("[]") or "localhost",
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client_host,
            "CONTENT_LENGTH": str(length) if length else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body) if isinstance(body, bytes) else body,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": _FileWrapper,
        }
        for name, value in scope.headers.items():
            if name == "content-length" or name == "transfer-encoding":
                continue  # the body is whole now: its length is the one above
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
                continue
            key = "HTTP_" + name.upper().replace("-", "_")
            environ[key] = f"{environ[key]},{value}" if key in environ else value
        return environ

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes, Iterator[bytes] | None]:
        """Run the WSGI app; return its status, headers and body (whole, or a first part and the rest)."""
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return lambda data: None

        try:
            result = self.app(environ, start_response)
        except Exception:  # noqa: BLE001 - Django answers its own errors; this is only a last resort
            return 500, [("content-type", "text/plain")], b"Internal error\n", None
        parts: list[bytes] = []
        size = 0
        iterator = iter(result)
        try:
            for part in iterator:
                parts.append(part)
                size += len(part)
                if size >= STREAM_PART:
                    status, headers = _status_headers(started)
                    return status, headers, b"".join(parts), _rest(iterator, result)
        except Exception:
            _close(result)
            raise
        _close(result)
        status, headers = _status_headers(started)
        return status, headers, b"".join(parts), None


def _status_headers(started: list[Any]) -> tuple[int, list[tuple[str, str]]]:
    status, headers = started
    return int(status.split(" ", 1)[0]), [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]


def _rest(iterator: Iterator[bytes], result: Iterable[bytes]) -> Iterator[bytes]:
    """The remaining body in parts of about STREAM_PART bytes, closing the response at the end."""
    try:
        buffered: list[bytes] = []
        size = 0
        for part in iterator:
            buffered.append(part)
            size += len(part)
            if size >= STREAM_PART:
                yield b"".join(buffered)
                buffered, size = [], 0
        if buffered:
            yield b"".join(buffered)
    finally:
        _close(result)


def _next_part(parts: Iterator[bytes]) -> bytes | None:
    return next(parts, None)


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()  # Django's request_finished: database connections are returned here


application = BufferedWSGI(
    wsgi_application,
    threads=env_int("SKILLHUB_WEB_THREADS", 8, minimum=1),
    client_timeout=env_float("SKILLHUB_CLIENT_TIMEOUT", 10.0, minimum=1.0),
)
