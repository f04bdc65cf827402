"""The application served by uvicorn in a background thread of this process, on a free local
port: for the benchmark (``app.bench_booking``) and tests that need real concurrent HTTP."""

from __future__ import annotations

import socket
import threading
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """``with LiveServer(app) as base_url: ...`` — one uvicorn worker, stopped on exit."""

    def __init__(self, app, *, access_log: bool = False, log_config: dict | None = None, **options) -> None:  # noqa: ANN001, ANN003
        import uvicorn

        self.port = free_port()
        extra = ({"log_config": log_config} if log_config is not None else {}) | options
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, workers=1, log_level="info" if access_log else "warning", access_log=access_log, **extra))
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.server.should_exit = True
        self.thread.join(timeout=10)
