"""One campaign plan at a time, in the background (the operator's campaign page).

The page never solves: it hands a job to :func:`default_runner` once its transaction has
committed (``visits.transactions.after_commit``); the job runs in a thread of its own, outside
any request, transaction or event loop (``visits.outreach.campaign.plan_campaign``: a read
transaction, the solve with no transaction open, a write transaction). A second start while one
runs is refused (:meth:`CampaignRunner.start` answers False). Failures are logged by error type
only and remembered for the page (``last_error``).

This is the in-process mechanism the re-plan queue uses on SQLite (threads in the web process).
On PostgreSQL's job queue the page hands the plan to ``app.jobs.PostgresCampaigns`` instead: a
``jemput.plan_campaign`` job a ``jemput worker`` runs, never the web process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("jemput.campaign")


class CampaignRunner:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._busy = False
        self.last_error: str | None = None  # the last run's error type (None: it succeeded, or none ran)
        self.started = 0  # runs started (tests, diagnostics)

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._busy

    def start(self, job: Callable[[], object]) -> bool:
        """Run ``job`` in a background thread; False (nothing started) while another runs."""
        with self._lock:
            if self._busy:
                return False
            self._busy, self.last_error = True, None
            self.started += 1
        threading.Thread(target=self._run, args=(job,), name="campaign-plan", daemon=True).start()
        return True

    def _run(self, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - logged by type only; the page says it failed
            log.error("campaign plan failed (%s)", type(exc).__name__)
            with self._lock:
                self.last_error = type(exc).__name__
        finally:
            with self._lock:
                self._busy = False
                self._lock.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: not self._busy, timeout)


_default = CampaignRunner()


def default_runner() -> CampaignRunner:
    return _default
