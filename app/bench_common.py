"""What the web benchmarks (``app.bench_booking``, ``app.bench_field``) share: a fresh database
in a temporary folder, percentiles, a server-side cProfile of service functions, and the
report (printed as it goes, and written to ``--output``) with its machine line, result table
and clean-up. Nothing here starts at import."""

from __future__ import annotations

import io
import os
import platform
import shutil
import statistics
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def environment(folder: Path) -> str:
    """Point the application at a fresh SQLite database in ``folder``; must run before ``app``
    is imported."""
    url = f"sqlite:///{folder / 'bench.db'}"
    os.environ["JEMPUT_DATA_DIR"] = str(folder)
    os.environ["JEMPUT_DATABASE_URL"] = url
    os.environ.setdefault("JEMPUT_SECRET_KEY", "bench-secret-key-not-for-production")
    os.environ["JEMPUT_TRACK_RATE_LIMIT"] = "1000000"  # one client posts everything
    os.environ["JEMPUT_NOTIFY_PROVIDER"] = "log"
    return url


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


class ServerProfile:
    """One cProfile shared by the wrapped service functions (server side only; calls are
    serialised by a lock so that the profiler sees one call at a time)."""

    def __init__(self) -> None:
        import cProfile

        self.profiler = cProfile.Profile()
        self._lock = threading.Lock()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def inner(*a: Any, **k: Any) -> Any:
            with self._lock:
                self.profiler.enable()
                try:
                    return fn(*a, **k)
                finally:
                    self.profiler.disable()

        return inner

    def text(self, lines: int) -> str:
        import pstats

        out = io.StringIO()
        pstats.Stats(self.profiler, stream=out).sort_stats("cumulative").print_stats(lines)
        return out.getvalue()


class Report:
    """The benchmark's report: each line printed at once and kept for ``--output``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.ok = True

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def header(self, title: str, seed: int) -> None:
        import sqlalchemy

        self.say(title)
        self.say(f"date (UTC): {datetime.now(UTC):%Y-%m-%d %H:%M}; seed {seed}")
        self.say(f"machine: {platform.platform()}; {platform.processor() or platform.machine()}; {os.cpu_count()} CPUs; Python {platform.python_version()}; SQLAlchemy {sqlalchemy.__version__}")

    def row(self, name: str, values: Sequence[float], target: float | None = None, *, width: int = 58, digits: int = 1, judge: str = "p95") -> None:
        """``name  n  p50  p95  max  [target  ok]``; the target holds for the p95 (or, with
        ``judge="max"``, for every value); a missed target makes the run fail."""
        p95 = percentile(values, 95)
        cells = f"{name:<{width}} {len(values):>4} {statistics.median(values):>8.{digits}f} {p95:>8.{digits}f} {max(values):>8.{digits}f}"
        if target is not None:
            good = (max(values) if judge == "max" else p95) <= target
            self.ok &= good
            cells += f" {target:>8.{1 if target < 10 else 0}f}  {'yes' if good else 'NO'}"
        self.say(cells)

    def table_head(self, first: str = "what", *, width: int = 58) -> None:
        self.say(f"{first:<{width}} {'n':>4} {'p50':>8} {'p95':>8} {'max':>8} {'target':>8}  ok")

    def load(self) -> None:
        load = os.getloadavg()
        self.say(f"load average at the end of the run (other processes share the machine): {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} CPUs")

    def profile(self, title: str, profile: ServerProfile | None, lines: int) -> None:
        if profile is None:
            return
        self.say("")
        self.say(title)
        self.say(profile.text(lines))

    def finish(self, output: str, folder: Path, keep: bool) -> int:
        """Write ``--output``, drop the temporary database (unless ``keep``); the exit status."""
        if output:
            Path(output).parent.mkdir(parents=True, exist_ok=True)
            Path(output).write_text("\n".join(self.lines) + "\n")
        if not keep:
            from app.db import reset_engines

            reset_engines()
            shutil.rmtree(folder, ignore_errors=True)
        return 0 if self.ok else 1
