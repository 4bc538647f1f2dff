"""The buffering front that `manage.py serve` puts before gunicorn: nginx, configured here.

gunicorn's threads block while they read a request: a client that trickles its headers or stops
half-way through a body holds a thread for as long as it likes, and a few such clients hold them
all. nginx reads every request whole, event-driven (thousands of slow connections cost it a few
kilobytes each, no thread), closes a client that takes longer than the client timeout, and only
then hands the complete request to gunicorn over a private unix socket. It also turns a chunked
request body into one with a Content-Length. This is the arrangement gunicorn's own deployment
guide asks for.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Seconds a client may take to send its request headers, and between two reads of its body.
DEFAULT_CLIENT_TIMEOUT = 10
# Above the API's own 1 MiB limit, so the application answers 413 in its own shape.
MAX_BODY = "8m"


@dataclass(frozen=True)
class Front:
    """A rendered nginx configuration and where gunicorn must listen for it."""

    directory: Path
    config: Path
    upstream_socket: Path

    @property
    def gunicorn_bind(self) -> str:
        return f"unix:{self.upstream_socket}"

    def command(self, nginx: str) -> list[str]:
        return [nginx, "-p", str(self.directory), "-c", str(self.config), "-e", "stderr"]

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def find_nginx() -> str | None:
    """Return the nginx executable (SKILLHUB_NGINX, or nginx on PATH or in /usr/sbin), or None."""
    named = os.environ.get("SKILLHUB_NGINX", "").strip()
    if named:
        return named
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def prepare(*, host: str, port: int, client_timeout: int, connections: int = 4096) -> Front:
    """Write an nginx configuration listening on host:port for a gunicorn on a private unix socket."""
    # A short path of its own: a unix socket path must stay under ~100 bytes.
    directory = Path(tempfile.mkdtemp(prefix="skillhub-front-"))
    os.chmod(directory, 0o711)  # nginx's workers (an unprivileged user when started as root) reach the socket
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (directory / sub).mkdir()
        os.chmod(directory / sub, 0o777)
    socket_path = directory / "gunicorn.sock"
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    config = directory / "nginx.conf"
    config.write_text(
        f"""{user}daemon off;
worker_processes 1;
pid {directory}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
    # A slow client is nginx's to hold, never gunicorn's; past these it is closed (408).
    client_header_timeout {client_timeout}s;
    client_body_timeout {client_timeout}s;
    send_timeout {max(client_timeout, 30)}s;
    keepalive_timeout 30s;
    reset_timedout_connection on;
    client_max_body_size {MAX_BODY};
    client_body_buffer_size 256k;
    large_client_header_buffers 4 16k;
    upstream skillhub {{
        server unix:{socket_path};
        keepalive 16;
    }}
    server {{
        listen {listen} backlog=1024;
        location / {{
            proxy_pass http://skillhub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            # The whole request is read before gunicorn sees it (a chunked body gets a Content-Length).
            proxy_request_buffering on;
            proxy_buffering on;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""
    )
    return Front(directory=directory, config=config, upstream_socket=socket_path)
