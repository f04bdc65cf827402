"""KK files: recognised by content, cleaned of metadata, stored under random names."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.intake.intake_fixtures import jpeg_bytes, pdf_bytes, png_bytes
from visits.errors import InvalidInput, PayloadTooLarge
from visits.intake.uploads import JPEG, PDF, PNG, clean_upload, read_kk, sniff, store_kk

LIMIT = 5 * 1024 * 1024


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as err:
        clean_upload(data, LIMIT)
    assert err.value.field == "kk_file"
    return err.value.message_key


def test_content_decides_the_type() -> None:
    assert sniff(jpeg_bytes()) == JPEG
    assert sniff(png_bytes()) == PNG
    assert sniff(pdf_bytes()) == PDF
    assert clean_upload(png_bytes(), LIMIT).content_type == PNG


@pytest.mark.parametrize(
    "data",
    [
        b"<!doctype html><html><script>alert(1)</script></html>",
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
        b"GIF89a" + b"\x00" * 20,
        b"PK\x03\x04" + b"\x00" * 40,
        b"just text",
        b"",
    ],
)
def test_other_types_refused(data: bytes) -> None:
    refused(data)


def test_polyglots_refused() -> None:
    assert refused(jpeg_bytes() + b"<html><script>alert(1)</script></html>").endswith("polyglot")
    assert refused(jpeg_bytes() + pdf_bytes()).endswith("polyglot")
    assert refused(pdf_bytes() + b"<script>x</script>").endswith("polyglot")
    assert refused(pdf_bytes() + b"PK\x05\x06" + b"\x00" * 18).endswith("polyglot")  # zip glued after %%EOF
    assert refused(pdf_bytes().replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>")).endswith("active_content")


def test_truncated_image_refused() -> None:
    assert refused(jpeg_bytes()[:40]).endswith("unreadable")


def test_exif_and_text_chunks_removed() -> None:
    raw = jpeg_bytes(exif=True)
    assert b"SecretCameraMaker" in raw
    clean = clean_upload(raw, LIMIT)
    assert b"SecretCameraMaker" not in clean.data and b"Exif" not in clean.data
    with Image.open(io.BytesIO(clean.data)) as img:
        assert not img.getexif()
        assert img.size == (64, 48)
    png = clean_upload(png_bytes(), LIMIT)
    assert b"secret-metadata" not in png.data


def test_too_large_is_413_and_the_limit_itself_is_fine() -> None:
    with pytest.raises(PayloadTooLarge) as err:
        clean_upload(b"\xff\xd8\xff" + b"\x00" * LIMIT, LIMIT)  # limit + 3 bytes
    assert err.value.status_code == 413 and err.value.field == "kk_file"
    raw = jpeg_bytes()
    at_limit = raw + b"\x00" * (LIMIT - len(raw))  # padding after the image's end marker
    assert len(at_limit) == LIMIT and clean_upload(at_limit, LIMIT).content_type == JPEG


def test_stored_under_random_name_outside_web_root(session, tmp_path) -> None:
    clean = clean_upload(jpeg_bytes(), LIMIT)
    doc = store_kk(session, clean, tmp_path / "uploads", retention_days=90)
    files = list((tmp_path / "uploads").iterdir())
    assert [f.name for f in files] == [doc.storage_name]
    assert len(doc.storage_name) == 36 and doc.storage_name.endswith(".jpg")
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert read_kk(doc, tmp_path / "uploads") == clean.data
    assert (doc.delete_after - doc.uploaded_at).days == 90
    session.commit()


def test_file_removed_when_transaction_rolls_back(session, tmp_path) -> None:
    store_kk(session, clean_upload(jpeg_bytes(), LIMIT), tmp_path, retention_days=90)
    assert len(list(tmp_path.iterdir())) == 1
    session.rollback()
    assert list(tmp_path.iterdir()) == []


def test_purge_expired(session, tmp_path) -> None:
    from datetime import timedelta

    from visits.intake.uploads import purge_expired
    from visits.types import utcnow

    doc = store_kk(session, clean_upload(jpeg_bytes(), LIMIT), tmp_path, retention_days=90)
    session.commit()
    assert purge_expired(session, tmp_path, now=utcnow() + timedelta(days=89)) == 0
    assert purge_expired(session, tmp_path, now=utcnow() + timedelta(days=91)) == 1
    assert doc.deleted_at is not None and list(tmp_path.iterdir()) == []
    session.commit()
