"""Run `loyalty` or `uvicorn` with uvicorn's multi-worker listening socket marked as TCP.

    .venv/bin/python bench/serve_nodelay.py loyalty serve --host 127.0.0.1 --port P --workers 2
    .venv/bin/python bench/serve_nodelay.py uvicorn --app-dir bench floor_app:create --factory ... --workers 2

With `--workers N > 1`, uvicorn binds the listening socket itself (`Config.bind_socket()`) with
`proto` left at 0; accepted sockets inherit it, and asyncio only sets TCP_NODELAY when the
socket says IPPROTO_TCP. Nagle's algorithm then stays on, uvicorn writes a response's headers
and body in two writes, and every keep-alive request after a connection's first waits ~40 ms
for the client's delayed ACK (uvicorn issue #3149, open in the uvicorn this project pins;
`--workers 1` is not affected). bench/partner_throughput.py measures the servers both ways: stock, and
with this one-line correction applied to the socket before the workers are started — what a
fixed uvicorn will do. Nothing else changes: the same CLI, app, workers and settings.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import uvicorn.config

_bind_socket = uvicorn.config.Config.bind_socket


def bind_socket(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.proto == 0:
        # Same file descriptor (bound, inheritable), now reporting IPPROTO_TCP to asyncio in
        # the workers, which receive it pickled with its family, type and proto.
        sock = socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())
    return sock


uvicorn.config.Config.bind_socket = bind_socket  # type: ignore[method-assign]


if __name__ == "__main__":
    # Not bench/ itself on the path: nothing there may shadow a package of the project
    # (the workers inherit this path; `uvicorn --app-dir bench` puts it back for the floor).
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    program, *arguments = sys.argv[1:]
    sys.argv = [program, *arguments]
    if program == "loyalty":
        from loyalty.cli import main
    elif program == "uvicorn":
        from uvicorn.main import main
    else:
        raise SystemExit(f"run loyalty or uvicorn, not {program!r}")
    main()
