"""The personal-data access trail: who read or changed which resident's data, and where.

Rows name the user, the action, the entity and the route *template*; they never hold the
personal data itself. Written in the same transaction as the access (flush only).
"""

from __future__ import annotations

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
    entry = AuditLog(user_id=user_id, action=action, entity=entity, entity_id=entity_id, resident_id=resident_id, route=route[:200])
    session.add(entry)
    session.flush()
    return entry
