"""Follow-up after the visit (monitoring): a day after a ``recorded`` outcome the companion gets a
message with a link to a two-question survey (satisfaction 1–5, an optional comment). No login: the
link's token authorises (only its SHA-256 is stored). The link works once per visit and the survey
page shows no personal data (the office's name only).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from visits.booking.notices import family_language
from visits.errors import Conflict, InvalidInput, NotFound
from visits.field.models import Visit
from visits.intake.models import VisitRequest
from visits.notifications import enqueue
from visits.reporting.coverage import RECORDED
from visits.reporting.models import FollowUpSurvey

DELAY = timedelta(days=1)
COMMENT_MAX = 1000
TEXTS = {
    "id": "{office}: terima kasih telah menerima kunjungan perekaman KTP-el. Bagaimana pelayanan kami? Isi survei singkat (2 pertanyaan): {link}",
    "en": "{office}: thank you for receiving the E-KTP recording visit. How did we do? A short survey (2 questions): {link}",
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def send_surveys(session: Session, now: datetime, *, office: str, base_url: str, limit: int = 500) -> int:
    """Queue the survey message for every recorded visit at least a day old that has none yet (flush only)."""
    done = select(FollowUpSurvey.visit_id)
    rows = session.exec(
        select(Visit, VisitRequest)
        .join(VisitRequest, Visit.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(Visit.outcome == RECORDED, Visit.recorded_on_device_at <= now - DELAY, col(Visit.id).not_in(done))
        .order_by(col(Visit.id))
        .limit(limit)
    ).all()
    for visit, request in rows:
        token = secrets.token_urlsafe(24)
        session.add(FollowUpSurvey(visit_id=visit.id, request_id=request.id, token_hash=_hash(token), sent_at=now))  # type: ignore[arg-type]
        lang = family_language(session, request.id)  # type: ignore[arg-type]
        link = f"{base_url.rstrip('/')}/survey/{token}"
        enqueue(session, recipient=request.companion_phone, language=lang, template="follow_up_survey", body=TEXTS.get(lang, TEXTS["id"]).format(office=office, link=link), request_id=request.id)
    session.flush()
    return len(rows)


@dataclass(frozen=True)
class SurveyView:
    answered: bool


def open_survey(session: Session, token: str) -> tuple[FollowUpSurvey, SurveyView]:
    survey = session.exec(select(FollowUpSurvey).where(FollowUpSurvey.token_hash == _hash(token))).first() if token else None
    if survey is None:
        raise NotFound()
    return survey, SurveyView(answered=survey.answered_at is not None)


def answer_survey(session: Session, token: str, satisfaction: str, comment: str, now: datetime) -> FollowUpSurvey:
    """Store the answer once; a second answer is refused (Conflict) and changes nothing."""
    survey, view = open_survey(session, token)
    if view.answered:
        raise Conflict("reporting.survey.already")
    if satisfaction not in {"1", "2", "3", "4", "5"}:
        raise InvalidInput("reporting.survey.pick", field="satisfaction")
    if len(comment) > COMMENT_MAX:
        raise InvalidInput("error.invalid", field="comment")
    survey.satisfaction, survey.comment, survey.answered_at = int(satisfaction), comment.strip() or None, now
    session.add(survey)
    session.flush()
    return survey


@dataclass(frozen=True)
class SurveyFigures:
    sent: int
    answered: int
    mean_satisfaction: float | None
    satisfied: int  # 4 or 5

    @property
    def answer_share(self) -> float | None:
        return self.answered / self.sent if self.sent else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.answered if self.answered else None


def survey_figures(session: Session, received_from: datetime, received_before: datetime) -> SurveyFigures:
    """Surveys of the visits to requests received in ``[received_from, received_before)``."""
    sent, answered, mean, satisfied = session.exec(
        select(func.count(), func.count(col(FollowUpSurvey.answered_at)), func.avg(FollowUpSurvey.satisfaction), func.coalesce(func.sum(case((col(FollowUpSurvey.satisfaction) >= 4, 1), else_=0)), 0))
        .select_from(FollowUpSurvey)
        .join(VisitRequest, FollowUpSurvey.request_id == VisitRequest.id)  # type: ignore[arg-type]
        .where(VisitRequest.received_at >= received_from, VisitRequest.received_at < received_before)
    ).one()
    return SurveyFigures(sent, answered, float(mean) if mean is not None else None, int(satisfied))
