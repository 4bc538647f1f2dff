"""The buffering fronts `manage.py serve` can start: granian (the default), or nginx before gunicorn.

gunicorn's threads block while they read a request: a client that trickles its headers or stops
half-way through a body holds a thread for as long as it likes, and a few such clients hold them
all. Either front reads each request whole first. granian runs skillhub/front_app.py (see there);
its command line is built here. nginx, configured here, reads every request event-driven
(thousands of slow connections cost it a few kilobytes each, no thread), closes a client that takes
longer than the client timeout, and only then hands the complete request to gunicorn over a
private unix socket. It also turns a chunked request body into one with a Content-Length. This is
the arrangement gunicorn's own deployment guide asks for.
"""
from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skillhub import limits
from skillhub.env import env_str

# Seconds a client may take to send its request headers, and between two reads of its body.
DEFAULT_CLIENT_TIMEOUT = 10
# granian's header read timeout is given in milliseconds, at most a minute.
GRANIAN_MAX_HEADER_TIMEOUT_MS = 60_000


def refuse_taken_port(host: str, port: int) -> None:
    """Raise OSError if host:port is taken.

    granian listens with SO_REUSEPORT, so a second server on a port in use would start and silently
    share its connections instead of failing; a plain bind is refused the way a user expects.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Connections of a server stopped a moment ago linger in TIME_WAIT; they do not make the port
        # taken (a restart must work at once), while a listening server still refuses this bind.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def granian_command(*, host: str, port: int, workers: int, client_timeout: int) -> list[str]:
    """Return the command that serves skillhub/front_app.py under granian on host:port."""
    header_timeout = min(max(client_timeout * 1000, 1), GRANIAN_MAX_HEADER_TIMEOUT_MS)
    return [
        sys.executable, "-m", "granian",
        "--interface", "rsgi",
        "--host", host,
        "--port", str(port),
        "--workers", str(workers),
        "--http", "1",
        "--no-ws",
        "--backlog", "1024",
        "--http1-header-read-timeout", str(header_timeout),
        "--log-level", "warning",
        *(["--access-log"] if env_str("SKILLHUB_ACCESS_LOG") else []),
        "skillhub.front_app:application",
    ]


def _limit_locations() -> str:
    """nginx locations holding each path of the table of body limits to its size, answering 413 in its shape."""
    blocks = []
    for number, limit in enumerate(limits.table()):
        content_type, body = limit.too_large()
        escaped = body.decode().replace("\\", "\\\\").replace("'", "\\'").strip()
        blocks.append(
            f"""        # {limit.name}
        location ~ {limit.pattern} {{
            client_max_body_size {limit.max_bytes};
            error_page 413 @too_large_{number};
            proxy_pass http://skillhub;
        }}
        location @too_large_{number} {{
            default_type "{content_type}";
            return 413 '{escaped}';
        }}"""
        )
    return "\n".join(blocks)


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
    """Return the nginx executable (SKILLHUB_NGINX, or nginx on PATH), or None."""
    named = env_str("SKILLHUB_NGINX")
    if named:
        return named
    return shutil.which("nginx")


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
    client_body_buffer_size 256k;
    large_client_header_buffers 4 16k;
    upstream skillhub {{
        server unix:{socket_path};
        keepalive 16;
    }}
    server {{
        listen {listen} backlog=1024;
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
        # The table of body limits (settings, skillhub/limits.py), most specific path first.
{_limit_locations()}
    }}
}}
"""
    )
    return Front(directory=directory, config=config, upstream_socket=socket_path)
