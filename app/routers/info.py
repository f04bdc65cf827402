"""Public information about the home-recording service, and a printable flyer.

PUBLIC routes (no login, no personal data):

- ``GET /info``          who the service is for, what to bring (only the KK), how a visit goes, how to ask by phone
- ``GET /info/flyer``    A4 flyer for kelurahan offices and health posts, with a QR code to the form
- ``GET /info/qr.svg``   the QR code alone (SVG, generated locally with segno)
"""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from app.settings import get_settings
from app.web import render

router = APIRouter(include_in_schema=False)


def form_url() -> str:
    return get_settings().public_base_url.rstrip("/") + "/request"


def qr_svg(url: str, scale: int = 8) -> str:
    """An SVG QR code (error correction M), made locally without any network access. It has a
    viewBox and no fixed size, so CSS scales it whole (the flyer prints it 60 mm wide)."""
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True, title=f"QR: {url}", omitsize=True)
    return out.getvalue().decode().replace("<svg ", '<svg role="img" ', 1)


@router.get("/info", response_class=HTMLResponse)
def info(request: Request) -> HTMLResponse:
    return render(request, "info/info.html", {"form_url": form_url()})


@router.get("/info/flyer", response_class=HTMLResponse)
def flyer(request: Request) -> HTMLResponse:
    return render(request, "info/flyer.html", {"form_url": form_url(), "qr": Markup(qr_svg(form_url()))})


@router.get("/info/qr.svg")
def qr(request: Request) -> Response:
    return Response(qr_svg(form_url()), media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})
