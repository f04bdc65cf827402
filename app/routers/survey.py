"""The follow-up survey after a recorded visit (public: the link's token authorises; no login).

- ``GET  /survey/{token}``   the two questions (no personal data: the office's name only)
- ``POST /survey/{token}``   the answer, stored once per visit (a second answer: 409, nothing changes)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.datastructures import FormData

from app.db import ReadSession, WriteSession
from app.deps import Now
from app.uploadguard import FORM_OVERHEAD_BYTES, guard_body
from app.web import render, small_form
from visits.errors import Conflict, InvalidInput
from visits.reporting.followup import answer_survey, open_survey

router = APIRouter(include_in_schema=False)
SURVEY_FORM = small_form(5)


def _page(request: Request, context: dict, status: int = 200) -> HTMLResponse:
    response = render(request, "survey.html", context, status)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this page's URL
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@router.get("/survey/{token}", response_class=HTMLResponse)
def survey_form(request: Request, token: str, session: Session = ReadSession) -> HTMLResponse:
    _survey, view = open_survey(session, token)
    return _page(request, {"token": token, "answered": view.answered})


def survey_body_guard(request: Request) -> None:
    guard_body(request, FORM_OVERHEAD_BYTES)


@router.post("/survey/{token}", response_class=HTMLResponse)
def survey_answer(request: Request, token: str, now: Now, _guard: None = Depends(survey_body_guard), form: FormData = Depends(SURVEY_FORM), session: Session = WriteSession) -> HTMLResponse:
    value = form.get("satisfaction")
    comment = form.get("comment")
    try:
        answer_survey(session, token, value if isinstance(value, str) else "", comment if isinstance(comment, str) else "", now)
    except Conflict:
        return _page(request, {"token": token, "answered": True}, 409)
    except InvalidInput:
        return _page(request, {"token": token, "answered": False, "error": "reporting.survey.pick"}, 422)
    return _page(request, {"token": token, "answered": True, "thanks": True})
