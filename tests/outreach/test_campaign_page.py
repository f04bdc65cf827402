"""The operator's campaign page: who may open it, starting a plan hands exactly one job to the
background runner (after the request's transaction), a second start while it runs is refused, a
bad choice answers 422 naming the field and starts nothing, and once the job ran the page shows
the figures and links the proposals into the call list."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlmodel import func, select

from app.db import session_scope
from app.routers import outreach as outreach_router
from tests.app.helpers import login_as
from tests.outreach.test_campaign import KEL, _candidates, _existing_bookings
from visits.models import OutreachCampaign, OutreachProposal
from visits.outreach.runner import CampaignRunner

PAGE = "/operator/outreach/campaign"


class HeldRunner(CampaignRunner):
    """Keeps the jobs it is handed (busy until the test runs them)."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[Callable[[], object]] = []

    @property
    def busy(self) -> bool:
        return bool(self.jobs)

    def start(self, job: Callable[[], object]) -> bool:
        if self.jobs:
            return False
        self.jobs.append(job)
        return True

    def run(self) -> None:
        job = self.jobs.pop()
        job()


@pytest.fixture
def held(monkeypatch) -> HeldRunner:
    runner = HeldRunner()
    monkeypatch.setattr(outreach_router, "default_runner", lambda: runner)
    monkeypatch.setattr(outreach_router, "CAMPAIGN_SOLVER_SECONDS", 2.0)
    return runner


def _campaigns() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(OutreachCampaign)).one()


def test_officer_head_and_the_public_cannot_open_or_start_it(client, held) -> None:
    anonymous = client.get(PAGE, follow_redirects=False)
    assert anonymous.status_code in (303, 307, 401) and (anonymous.status_code == 401 or "/login" in anonymous.headers["location"])
    assert client.post(PAGE, data={}, follow_redirects=False).status_code in (303, 307, 401, 403)
    for role in ("officer", "head"):
        staff = login_as(client, role)
        assert client.get(PAGE).status_code == 403
        assert client.post(PAGE, data={"csrf_token": staff.csrf_token}).status_code == 403
    assert held.jobs == [] and held.started == 0
    for role in ("operator", "admin"):
        login_as(client, role)
        page = client.get(PAGE)
        assert page.status_code == 200 and 'id="campaign-form"' in page.text


def test_a_bad_choice_answers_422_naming_the_field_and_starts_nothing(client, held) -> None:
    _existing_bookings(0)
    staff = login_as(client, "operator")
    r = client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL, "limit": "lima"})
    assert r.status_code == 422 and "Jumlah calon: isi angka 1 sampai 5000" in r.text and 'href="#c-limit"' in r.text
    r = client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": "35.76.09.9999"})
    assert r.status_code == 422 and "Kelurahan tidak ada di wilayah layanan." in r.text
    r = client.post(PAGE, data={"csrf_token": staff.csrf_token, "partner_kind": "bank"})
    assert r.status_code == 422 and "Jenis mitra: pilih salah satu" in r.text
    assert held.jobs == [] and _campaigns() == 0


@pytest.mark.slow
def test_starting_enqueues_one_job_a_second_start_is_refused_and_the_page_shows_the_figures(client, held) -> None:
    _existing_bookings(2)
    _candidates(4)
    staff = login_as(client, "operator")
    r = client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL, "limit": "10"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == PAGE + "?note=started"
    assert len(held.jobs) == 1 and _campaigns() == 0  # handed over after the commit, not run in the request
    running = client.get(PAGE)
    assert running.status_code == 200 and "Sedang merencanakan…" in running.text and 'http-equiv="refresh"' in running.text
    again = client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL})
    assert again.status_code == 409 and "Sebuah rencana kampanye sedang dibuat" in again.text
    assert len(held.jobs) == 1  # still exactly one

    held.run()  # the background job: load, solve (no transaction open), store

    with session_scope() as s:
        campaign = s.exec(select(OutreachCampaign)).one()
        proposals = s.exec(select(OutreachProposal)).all()
    assert (campaign.candidates, campaign.placed) == (4, 4) and len(proposals) == 4 and campaign.team_days >= 1
    page = client.get(PAGE)
    assert page.status_code == 200 and "Sedang merencanakan" not in page.text and 'http-equiv="refresh"' not in page.text
    assert 'id="fig-placed">4 / 4<' in page.text
    assert "Rencana terakhir (23-11-2026 09:00)" in page.text  # the office's time (WIB)
    assert f'id="fig-team-days">{campaign.team_days}<' in page.text
    assert f'id="fig-travel">{campaign.travel_minutes} menit<' in page.text  # a few hundred minutes at most: no thousands separator
    solve = f"{campaign.solve_seconds:.1f}"
    assert f'id="fig-solve">{solve.replace(".", ",")} dtk<' in page.text  # Indonesian decimals and unit
    assert f'href="/operator/outreach?kelurahan={KEL}">Mentikan</a>: 4 usulan' in page.text
    calls = client.get(f"/operator/outreach?kelurahan={KEL}")
    assert calls.text.count("data-proposal=") == 4  # each proposal is on the call list
    english = client.get(PAGE, headers={"Accept-Language": "en"})
    assert "Team-days used" in english.text and f'id="fig-travel">{campaign.travel_minutes} min<' in english.text
    assert f'id="fig-solve">{solve} s<' in english.text


@pytest.mark.slow
def test_the_real_runner_plans_in_the_background_and_refuses_a_second_start(client, monkeypatch) -> None:
    runner = CampaignRunner()
    monkeypatch.setattr(outreach_router, "default_runner", lambda: runner)
    monkeypatch.setattr(outreach_router, "CAMPAIGN_SOLVER_SECONDS", 3.0)
    _existing_bookings(1)
    _candidates(3)
    staff = login_as(client, "operator")
    assert client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL}, follow_redirects=False).status_code == 303
    assert runner.started == 1
    assert runner.start(lambda: None) is False or not runner.busy  # refused while the first one runs
    assert runner.wait_idle(120) and runner.last_error is None and runner.started == 1
    page = client.get(PAGE)
    assert 'id="fig-placed">3 / 3<' in page.text


@pytest.mark.slow
def test_the_campaign_page_in_a_real_browser_on_a_phone_a_tablet_in_english_and_a_desktop(live, held) -> None:
    from pathlib import Path

    from tests.app.helpers import PASSWORD, make_user
    from tests.browser import document_fits

    shots = Path("/tmp/shots-campaign")
    shots.mkdir(parents=True, exist_ok=True)
    _existing_bookings(1)
    _candidates(3)
    user = make_user("operator")
    for width, height, locale in ((390, 844, "id-ID"), (768, 1024, "en-GB"), (1366, 768, "id-ID")):
        page = live.new_page(width, height, locale=locale)
        page.goto(f"{live.url}/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(live.url + PAGE)
        assert document_fits(page), page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(shots / f"form-{width}.png"), full_page=True)
        page.select_option("#c-kelurahan", KEL)
        page.fill("#c-limit", "abc")
        page.click("#campaign-start")
        page.wait_for_selector("#error-summary")
        assert document_fits(page)
        page.screenshot(path=str(shots / f"error-{width}.png"), full_page=True)
        page.fill("#c-limit", "10")
        page.click("#campaign-start")
        page.wait_for_selector("#campaign-running")
        assert document_fits(page)
        page.screenshot(path=str(shots / f"running-{width}.png"), full_page=True)
        held.run()
        page.goto(live.url + PAGE)
        page.wait_for_selector("#fig-placed")
        assert page.inner_text("#fig-placed") == "3 / 3"
        assert document_fits(page), page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(shots / f"figures-{width}.png"), full_page=True)
        page.click("#campaign-areas a")
        page.wait_for_selector("[data-proposal]")
        assert page.locator("[data-proposal]").count() == 3
    assert live.outside == []


@pytest.mark.postgresql
def test_on_postgresql_the_plan_is_a_worker_job_every_web_process_sees(client, db, monkeypatch) -> None:
    """With PostgreSQL's job queue the page defers one ``jemput.plan_campaign`` job (after the
    commit) and a ``jemput worker`` solves it: the web process never does. "Planning…" and the
    refusal of a second start come from the job table, so every web process agrees."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import text

    from app import jobs
    from app.settings import get_settings

    monkeypatch.setattr(get_settings(), "job_queue", "postgres")
    monkeypatch.setattr(outreach_router, "default_runner", lambda: pytest.fail("the web process ran the campaign"))
    monkeypatch.setattr(outreach_router, "CAMPAIGN_SOLVER_SECONDS", 2.0)
    try:
        _existing_bookings(2)
        _candidates(3)
        staff = login_as(client, "operator")
        r = client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL, "limit": "10"}, follow_redirects=False)
        assert r.status_code == 303 and _campaigns() == 0
        with db.connect() as conn:
            waiting = conn.execute(text("SELECT status::text, args FROM procrastinate_jobs WHERE task_name = :t"), {"t": jobs.CAMPAIGN_TASK}).all()
        assert [(status, args["limit"]) for status, args in waiting] == [("todo", 10)]
        assert "Sedang merencanakan…" in client.get(PAGE).text
        assert client.post(PAGE, data={"csrf_token": staff.csrf_token, "kelurahan": KEL}).status_code == 409

        with ThreadPoolExecutor(max_workers=1) as pool:  # `jemput worker` until caught up
            pool.submit(jobs.run_worker, wait=False, install_signal_handlers=False, listen_notify=False).result()

        assert _campaigns() == 1
        page = client.get(PAGE)
        assert 'id="fig-placed">3 / 3<' in page.text and "Sedang merencanakan" not in page.text
    finally:
        jobs.close_postgres_app()
        with db.begin() as conn:
            conn.execute(text("TRUNCATE procrastinate_jobs, procrastinate_events, procrastinate_periodic_defers, procrastinate_workers RESTART IDENTITY CASCADE"))
