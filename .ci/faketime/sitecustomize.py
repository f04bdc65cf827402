"""Loaded only by .ci/run's faketime pass (PYTHONPATH=.ci/faketime), in every Python process of it.

libfaketime 0.9.10 (Debian) cannot fake both clocks for Python 3.11:
- with the monotonic clock faked, timed waits (``threading.Event.wait``, ``Lock.acquire(timeout=)``,
  ``queue.get(timeout=)``) go through ``sem_clockwait``, which libfaketime does not intercept, and
  never return;
- with ``FAKETIME_DONT_FAKE_MONOTONIC=1`` those work, but its ``clock_nanosleep`` wrapper converts
  ``time.sleep``'s absolute CLOCK_MONOTONIC deadline as if it were faked wall-clock time and the call
  fails with EINVAL.
So the pass keeps the monotonic clock real and ``time.sleep`` waits in ``select`` instead, which
libfaketime leaves alone. The wall clock (what the product reads) is the faked one either way.
"""

import os
import select
import time

if "faketime" in os.environ.get("LD_PRELOAD", ""):

    def _sleep(seconds: float) -> None:
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            select.select([], [], [], left)

    time.sleep = _sleep
