"""Shared data for the intake tests: the service area and well-formed applicants."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from visits.demo import nik_for

KELURAHAN = "35.76.01.1003"  # Mentikan, Prajurit Kulon
PHONE = "0812 3456 7890"
PHONE_E164 = "+6281234567890"


def area(session) -> None:
    from visits.intake.service_area import ensure_service_area

    ensure_service_area(session)
    session.commit()


def nik(birth: date, female: bool = False, serial: int = 1, kecamatan: str = "01") -> str:
    return nik_for(kecamatan, birth, female, serial)


def kk(serial: int = 7, region: str = "357601") -> str:
    return f"{region}150318{serial:04d}"


def form(**overrides: Any) -> dict[str, Any]:
    """Multipart form fields of an eligible elderly applicant (lists for repeatable fields)."""
    birth = date(1950, 3, 14)
    data: dict[str, Any] = {
        "nik": nik(birth, female=True),
        "full_name": "Siti Rahayu",
        "birth_date": birth.isoformat(),
        "sex": "F",
        "marital_status": "widowed",
        "groups": ["elderly"],
        "kelurahan_code": KELURAHAN,
        "rt": "3",
        "rw": "2",
        "street": "Jl. Mawar No. 5",
        "kk_number": kk(),
        "companion_name": "Budi Santoso",
        "companion_phone": PHONE,
        "companion_relation": "anak",
        "availability": '[{"weekday": 0, "start": "08:00", "end": "12:00"}]',
        "consent": "true",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def jpeg_bytes(exif: bool = True, size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    img = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "SecretCameraMaker"  # Make
        ex[0x0131] = "GPS-Leaking-Software"  # Software
        img.save(out, format="JPEG", exif=ex.tobytes())
    else:
        img.save(out, format="JPEG")
    return out.getvalue()


def png_bytes() -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "secret-metadata")
    out = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 0, 255, 128)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def pdf_bytes() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def multipart(data: dict[str, Any]) -> dict[str, Any]:
    """Form fields for httpx (a list value is sent as a repeated field)."""
    return dict(data)
