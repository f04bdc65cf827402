"""Who may do what: named role groups, used by the routes' guards and by the navigation.

The groups come from the product (BRIEF.md "Who uses it"): the administrator administers and may
stand in for the front office; the operator does intake and negotiates slots on the family's
behalf; the division head reads the pipeline, plans and dashboards (never writes a case, never
sees the KK image); the field officer works their own team's day.
"""

from __future__ import annotations

from visits.staff.models import Role

ALL_STAFF: frozenset[Role] = frozenset(Role)
ADMINS: frozenset[Role] = frozenset({Role.ADMIN})
CASE_WORKERS: frozenset[Role] = frozenset({Role.OPERATOR, Role.ADMIN})  # act on a case for the family
DESK_READERS: frozenset[Role] = frozenset({Role.OPERATOR, Role.ADMIN, Role.HEAD})  # read the pipeline and a case
HEADS: frozenset[Role] = frozenset({Role.HEAD, Role.ADMIN})  # the division head's dashboard
FIELD: frozenset[Role] = frozenset({Role.OFFICER})  # a team's day in the field
# who sees a resident's contact details on a case: the full NIK and KK numbers, the street address and
# the companion's phone (the head reads the pipeline with masked numbers, no phone, no street)
CONTACT_READERS: frozenset[Role] = CASE_WORKERS

GROUPS: dict[str, frozenset[Role]] = {
    "all_staff": ALL_STAFF,
    "admins": ADMINS,
    "case_workers": CASE_WORKERS,
    "desk_readers": DESK_READERS,
    "heads": HEADS,
    "field": FIELD,
    "contact_readers": CONTACT_READERS,
}


def in_group(role: str | None, group: frozenset[Role]) -> bool:
    return role is not None and role in group


def sees_contact_details(role: str | None) -> bool:
    """May ``role`` see the full NIK/KK numbers, the street address and the phone of a case?"""
    return in_group(role, CONTACT_READERS)


def permissions(role: str | None) -> dict[str, bool]:
    """The groups ``role`` belongs to, by name: what templates test (``can.case_workers``)."""
    return {name: in_group(role, members) for name, members in GROUPS.items()}
