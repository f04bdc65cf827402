"""Staff accounts: passwords, login throttling, server-side sessions and API tokens.

Plain functions over a Session; they only flush. Secrets handed to clients (session cookie
values, API tokens) are random and stored as their SHA-256 digest only. Resolving a
credential is read-only (it may run beside a request's write transaction): disabling a user
with ``set_active`` deletes their sessions and revokes their tokens at once, and resolving
refuses any credential of an inactive user anyway.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from visits.errors import Conflict, InvalidInput, NotFound, TooManyRequests, Unauthenticated
from visits.models import ApiToken, LoginAttempt, Role, Team, User, UserSession
from visits.types import utcnow

MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,49}")
USERNAME_MAX_LENGTH = 50
API_TOKEN_LIFETIME = timedelta(days=7)

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against for unknown usernames, so they cost as much as a wrong password."""
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """The stored form of a session cookie value or API token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def normalise_username(raw: str) -> str:
    return raw.strip().lower()


# ---------------------------------------------------------------- accounts


def create_user(session: Session, username: str, role: str, password: str, team_id: int | None = None, full_name: str = "") -> User:
    """A new active user; InvalidInput names the bad field, Conflict a taken username."""
    name = normalise_username(username)
    if not USERNAME_PATTERN.fullmatch(name):
        raise InvalidInput("auth.username_invalid", field="username")
    if role not in {r.value for r in Role}:
        raise InvalidInput("auth.role_invalid", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("auth.password_too_short", field="password", min=MIN_PASSWORD_LENGTH)
    if role == Role.OFFICER and team_id is None:
        raise InvalidInput("auth.team_required", field="team_id")
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput("auth.team_unknown", field="team_id")
    if session.exec(select(User.id).where(User.username == name)).first() is not None:
        raise Conflict("auth.username_taken", field="username")
    user = User(username=name, role=role, team_id=team_id, full_name=full_name.strip(), password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool) -> User:
    """Enable or disable a user; disabling ends their sessions and revokes their tokens."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    user.active = active
    session.add(user)
    if not active:
        revoke_credentials(session, user_id)
    session.flush()
    return user


def revoke_credentials(session: Session, user_id: int) -> None:
    session.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
    session.exec(update(ApiToken).where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None)).values(revoked_at=utcnow()))


# ---------------------------------------------------------------- password login


def attempt_key(username: str, client: str = "") -> str:
    """The LoginAttempt key of a username tried from a client (an HMAC of its address): failures
    lock that username *from that address* only, so someone else's wrong passwords never lock
    the real user out of their own address. Without a client, the username itself."""
    name = normalise_username(username)[:USERNAME_MAX_LENGTH]
    if not client:
        return name
    return "u:" + hashlib.sha256(f"{name}\n{client}".encode()).hexdigest()[:48]


def authenticate(session: Session, username: str, password: str, *, max_failures: int, window: timedelta, client: str = "", now: datetime | None = None) -> User:
    """The active user with this password, or an error.

    TooManyRequests when ``max_failures`` wrong attempts for this username from this ``client``
    (see :func:`attempt_key`) fall within
    ``window`` (checked before the password, so the right one is refused too). Otherwise a
    wrong password, an unknown user and a disabled user all raise the same Unauthenticated,
    a username with a control character InvalidInput (422, nothing stored);
    after a LoginAttempt row is flushed: the caller must *answer* that error (return a
    response) rather than let it roll the transaction back, or throttling is lost.
    """
    if any(ord(c) < 0x20 or c == "\x7f" for c in username):  # a NUL byte would even fail the query on PostgreSQL
        raise InvalidInput("auth.username_invalid", field="username")
    name = normalise_username(username)
    key = attempt_key(name, client)
    now = now or utcnow()
    if _recent_failures(session, key, now - window) >= max_failures:
        raise TooManyRequests()
    user = session.exec(select(User).where(User.username == name)).first()
    if verify_password(user.password_hash if user else _dummy_hash(), password) and user is not None and user.active:
        session.exec(delete(LoginAttempt).where(col(LoginAttempt.username) == key))
        if _hasher.check_needs_rehash(user.password_hash):  # hashing parameters were raised since
            user.password_hash = hash_password(password)
            session.add(user)
        return user
    session.exec(delete(LoginAttempt).where(col(LoginAttempt.at) < now - window))
    session.add(LoginAttempt(username=key, at=now))
    session.flush()
    raise Unauthenticated("auth.bad_credentials")


ADDRESS_FAILURE_FACTOR = 4  # an office behind one NAT address shares this budget, so it is wider than one username's


def login(session: Session, username: str, password: str, *, address_key: str, max_failures: int, window: timedelta, now: datetime) -> User:
    """:func:`authenticate`, behind a per-client-address limit as well (``address_key``: the
    LoginAttempt key of the client's address, ``ip:<hmac>``; ':' never occurs in a username, so
    the two never mix). A failure is counted for the address too, so rotating usernames from one
    address stops at ``max_failures * ADDRESS_FAILURE_FACTOR``."""
    if _recent_failures(session, address_key, now - window) >= max_failures * ADDRESS_FAILURE_FACTOR:
        raise TooManyRequests()
    try:
        return authenticate(session, username, password, max_failures=max_failures, window=window, client=address_key, now=now)
    except Unauthenticated:
        session.add(LoginAttempt(username=address_key, at=now))
        session.flush()
        raise


def _recent_failures(session: Session, username: str, since: datetime) -> int:
    query = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.username == username, LoginAttempt.at >= since)
    return session.exec(query).one()


# ---------------------------------------------------------------- browser sessions


def start_session(session: Session, user: User, *, lifetime: timedelta) -> tuple[str, str]:
    """A new server-side session: (cookie value, CSRF token). Expired sessions are purged."""
    now = utcnow()
    session.exec(delete(UserSession).where(col(UserSession.expires_at) <= now))
    cookie_value = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    assert user.id is not None
    session.add(UserSession(id=digest(cookie_value), user_id=user.id, csrf_token=csrf_token, created_at=now, expires_at=now + lifetime, last_seen_at=now))
    session.flush()
    return cookie_value, csrf_token


def resolve_session(session: Session, cookie_value: str) -> tuple[User, UserSession] | None:
    """The active user behind a session cookie; None when unknown, expired or disabled."""
    row = session.exec(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.id == digest(cookie_value))  # type: ignore[arg-type]
    ).first()
    if row is None:
        return None
    user_session, user = row
    if user_session.expires_at <= utcnow() or not user.active:
        return None
    return user, user_session


def end_session(session: Session, cookie_value: str) -> None:
    session.exec(delete(UserSession).where(col(UserSession.id) == digest(cookie_value)))


# ---------------------------------------------------------------- API tokens


def issue_api_token(session: Session, user: User, *, lifetime: timedelta = API_TOKEN_LIFETIME, name: str = "") -> tuple[str, datetime]:
    """A new bearer token for ``user``: (token, expires_at). Only its digest is stored."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    assert user.id is not None
    expires_at = now + lifetime
    session.add(ApiToken(token_hash=digest(token), user_id=user.id, name=name[:100], created_at=now, expires_at=expires_at))
    session.flush()
    return token, expires_at


def revoke_api_token(session: Session, token: str) -> bool:
    """Revoke one bearer token (the others of its user stay); False when unknown or revoked already."""
    result = session.exec(update(ApiToken).where(col(ApiToken.token_hash) == digest(token), col(ApiToken.revoked_at).is_(None)).values(revoked_at=utcnow()))
    return bool(result.rowcount)


def resolve_api_token(session: Session, token: str) -> User | None:
    """The active user behind a bearer token; None when unknown, expired, revoked or disabled."""
    row = session.exec(
        select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == digest(token))  # type: ignore[arg-type]
    ).first()
    if row is None:
        return None
    api_token, user = row
    if api_token.revoked_at is not None or api_token.expires_at <= utcnow() or not user.active:
        return None
    return user


def change_role_and_team(session: Session, user_id: int, role: str, team_id: int | None) -> tuple[dict, dict]:
    """Give a user another role and/or team (an officer needs a team); returns (before, after)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    if role not in {r.value for r in Role}:
        raise InvalidInput("auth.role_invalid", field="role")
    if role == Role.OFFICER and team_id is None:
        raise InvalidInput("auth.team_required", field="team_id")
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput("auth.team_unknown", field="team_id")
    before = {"role": user.role, "team_id": user.team_id}
    user.role, user.team_id = role, team_id
    session.add(user)
    session.flush()
    return before, {"role": user.role, "team_id": user.team_id}
