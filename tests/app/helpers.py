"""Staff users and logged-in clients for tests (reuse these in every feature's tests).

staff = login_as(client, "operator")          # the client's cookie jar now holds a session
client.post(url, data={..., "csrf_token": staff.csrf_token})
client.get(url, headers=bearer_headers("officer"))   # a tablet token, no cookie
client.get(url, headers=session_for("head").headers) # a session without touching the jar
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, timedelta

from fastapi.testclient import TestClient

from app.auth import CSRF_HEADER, SESSION_COOKIE
from app.db import session_scope
from visits.models import Role, Team, User
from visits.staff.users import create_user, issue_api_token, start_session

PASSWORD = "kata-sandi-uji-123"
ROLES: tuple[str, ...] = tuple(r.value for r in Role)


@dataclass(frozen=True)
class Staff:
    user_id: int
    username: str
    role: str
    team_id: int | None
    cookie: str
    csrf_token: str

    @property
    def headers(self) -> dict[str, str]:
        """Cookie session plus CSRF header, for one request without the client's cookie jar."""
        return {"Cookie": f"{SESSION_COOKIE}={self.cookie}", CSRF_HEADER: self.csrf_token}


def make_user(role: str, username: str | None = None, password: str = PASSWORD, team_id: int | None = None) -> User:
    """A committed user; an officer without a team gets a new one."""
    username = username or f"{role}-{secrets.token_hex(3)}"
    with session_scope() as session:
        if role == Role.OFFICER and team_id is None:
            team = Team(name=f"Tim {username}")
            session.add(team)
            session.flush()
            team_id = team.id
        return create_user(session, username, role, password, team_id=team_id, full_name=f"Uji {role}")


def session_for(role: str, username: str | None = None) -> Staff:
    """A new user of ``role`` with a live browser session (not attached to any client)."""
    user = make_user(role, username)
    with session_scope() as session:
        cookie, csrf = start_session(session, user, lifetime=timedelta(hours=1))
    assert user.id is not None
    return Staff(user.id, user.username, user.role, user.team_id, cookie, csrf)


def login_as(client: TestClient, role: str, username: str | None = None) -> Staff:
    """Log ``client`` in as a new user of ``role`` (session cookie set in its jar)."""
    staff = session_for(role, username)
    client.cookies.set(SESSION_COOKIE, staff.cookie)
    return staff


def bearer_headers(role: str | None = None, user: User | None = None) -> dict[str, str]:
    """An Authorization header with a fresh API token for ``user`` (or a new user of ``role``)."""
    user = user or make_user(role or Role.OPERATOR)
    with session_scope() as session:
        token, _expires = issue_api_token(session, user)
    return {"Authorization": f"Bearer {token}"}


def set_clock(client, moment) -> None:  # noqa: ANN001
    """Make the app (``app.deps.get_now``) see ``moment`` as the current time."""

    from app.deps import get_now

    utc = moment.astimezone(UTC)
    client.app.dependency_overrides[get_now] = lambda: utc
