"""The personal-data access trail: who read or changed which resident's data, and where.

Rows name the user, the action, the entity and the route *template*; they never hold the
personal data itself. Flush only: the caller picks the transaction (``app.auth.audit_read``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlmodel import Session

from visits.models import AuditLog


def record(
    session: Session,
    *,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    resident_id: int | None = None,
    route: str = "",
) -> AuditLog:
    """One access to one entity (a case page, a KK image, a change)."""
    return record_many(session, user_id=user_id, action=action, entity=entity, items=[(entity_id, resident_id)], route=route)[0]


def record_many(
    session: Session,
    *,
    user_id: int | None,
    action: str,
    entity: str,
    items: Iterable[tuple[int | None, int | None]],
    route: str = "",
) -> list[AuditLog]:
    """One row per ``(entity_id, resident_id)`` shown together (a list page): one flush for all.

    A list is audited resident by resident, so "who saw this resident's data" is one query
    on ``resident_id`` whether they opened the case or saw it in a list.
    """
    entries = [
        AuditLog(user_id=user_id, action=action, entity=entity, entity_id=entity_id, resident_id=resident_id, route=route[:200])
        for entity_id, resident_id in dict.fromkeys(items)  # once per item, in order
    ]
    session.add_all(entries)
    session.flush()
    return entries


def record_change(
    session: Session,
    *,
    user_id: int | None,
    action: str,
    entity: str,
    entity_id: int | None = None,
    before: dict | None = None,
    after: dict | None = None,
    resident_id: int | None = None,
    route: str = "",
) -> AuditLog:
    """An administrative change with the changed row's values before and after (JSON; never
    personal data: admin rows hold none, and a rehomed booking names only teams and times)."""
    entry = AuditLog(
        user_id=user_id,
        action=action[:30],
        entity=entity[:30],
        entity_id=entity_id,
        resident_id=resident_id,
        route=route[:200],
        before=None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True, default=str),
        after=None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(entry)
    session.flush()
    return entry
