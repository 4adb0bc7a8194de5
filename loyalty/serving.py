"""Running the web server: one fix uvicorn still needs for several worker processes.

With `--workers N > 1` uvicorn binds the listening socket itself with `proto` 0; the accepted
sockets inherit it, asyncio then never sets TCP_NODELAY, and every keep-alive request after a
connection's first waits ~40 ms for a delayed ACK (uvicorn issue #3149). A till on a kept-alive
connection would feel that on every scan. We hand uvicorn the same socket marked as TCP.
"""

from __future__ import annotations

import socket

import uvicorn.config

_original_bind_socket = uvicorn.config.Config.bind_socket


def _bind_tcp_socket(self: uvicorn.config.Config) -> socket.socket:
    sock = _original_bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


def fix_multiworker_nodelay() -> None:
    """Idempotent; call before `uvicorn.run(..., workers=N)`."""
    uvicorn.config.Config.bind_socket = _bind_tcp_socket  # type: ignore[method-assign]
