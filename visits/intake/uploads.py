"""KK photocopies and photos: checked by content, cleaned, stored outside the web root.

- Only JPEG, PNG and PDF, recognised by their first bytes (the file name and the declared
  content type are ignored); HTML, SVG, scripts and files that are two formats at once
  (polyglots) are refused.
- Images are decoded and re-encoded with Pillow, so EXIF/GPS and any trailing data are gone.
- PDFs are rasterised (pypdfium2, no JavaScript engine) and stored as a PNG of their first
  pages: no script, attachment, metadata (``/Author``) or hidden object survives, however its
  names are escaped or its objects compressed.
- Files get a random name in ``settings.upload_dir`` (mode 0600); the client's file name is
  never used. A file written in a transaction that rolls back is removed again.
- Files are deleted after ``kk_retention_days`` (:func:`purge_expired`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageOps
from sqlalchemy import event
from sqlmodel import Session, select

from visits.errors import InvalidInput, NotFound, PayloadTooLarge
from visits.models import KkDocument
from visits.types import utcnow

MAX_PIXELS = 40_000_000
JPEG = "image/jpeg"
PNG = "image/png"
PDF = "application/pdf"
EXTENSIONS = {JPEG: "jpg", PNG: "png", PDF: "pdf"}

# markers of active or markup content that have no business inside a KK scan
_ACTIVE_MARKERS = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|form|meta|\?php|\?xml)\b|javascript:",
    re.IGNORECASE,
)
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA|OpenAction|AA|SubmitForm|ImportData)\b")


@dataclass(frozen=True)
class CleanFile:
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The content type by the file's first bytes, or None when it is not one we accept."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def _refuse(reason: str) -> InvalidInput:
    return InvalidInput(f"intake.err.kk_file.{reason}", field="kk_file")


def _reencode_image(data: bytes, kind: str) -> bytes:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    img: Image.Image  # exif_transpose below gives a plain Image, not the opened ImageFile
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                probe.verify()
            with Image.open(io.BytesIO(data)) as img:
                if (img.format == "JPEG") != (kind == JPEG) or img.format not in ("JPEG", "PNG"):
                    raise _refuse("type")
                img.load()
                img = ImageOps.exif_transpose(img)
                return _encode_clean(img, kind)
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse("too_many_pixels") from None
    except Exception:  # noqa: BLE001 - any decoder failure means "not a usable image"
        raise _refuse("unreadable") from None


def _encode_clean(img: Image.Image, kind: str) -> bytes:
    """Copy only the pixels into a fresh image and encode it without any metadata."""
    out = io.BytesIO()
    if kind == JPEG:
        mode = "L" if img.mode in ("L", "1") else "RGB"
        fresh = Image.new(mode, img.size)
        fresh.paste(img.convert(mode))
        fresh.save(out, format="JPEG", quality=85, optimize=True)
    else:
        mode = img.mode if img.mode in ("L", "LA", "RGB", "RGBA") else "RGBA"
        fresh = Image.new(mode, img.size)
        fresh.paste(img.convert(mode))
        fresh.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _check_pdf(data: bytes) -> bytes:
    if _PDF_ACTIVE.search(data):
        raise _refuse("active_content")
    tail = data.rstrip(b"\r\n\t \x00")
    if not tail.endswith(b"%%EOF"):
        raise _refuse("polyglot")  # data appended after the PDF (e.g. a ZIP or HTML)
    return data


PDF_MAX_PAGES = 2  # a KK is one page (front and back at most)
PDF_MAX_SIDE = (1654, 2339)  # pixels: A4 at 200 dpi


def _rasterise_pdf(data: bytes) -> bytes:
    """The PDF's first pages as one PNG (pages stacked), at most A4 at 200 dpi each."""
    import pypdfium2 as pdfium
    from PIL import Image

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError:
        raise _refuse("unreadable") from None
    try:
        if len(document) == 0:
            raise _refuse("unreadable")
        pages = []
        for index in range(min(len(document), PDF_MAX_PAGES)):
            page = document[index]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise _refuse("unreadable")
            scale = min(200 / 72, PDF_MAX_SIDE[0] / width, PDF_MAX_SIDE[1] / height)
            pages.append(page.render(scale=scale).to_pil().convert("RGB"))
            page.close()
    finally:
        document.close()
    sheet = Image.new("RGB", (max(p.width for p in pages), sum(p.height for p in pages)), "white")
    top = 0
    for image in pages:
        sheet.paste(image, (0, top))
        top += image.height
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=True)
    return out.getvalue()


def clean_upload(data: bytes, max_bytes: int) -> CleanFile:
    """Check and clean an uploaded KK file, or raise InvalidInput naming ``kk_file``
    (PayloadTooLarge, 413, when it is over ``max_bytes``)."""
    if not data:
        raise _refuse("empty")
    if len(data) > max_bytes:
        raise PayloadTooLarge(field="kk_file")  # 413, like the body guard: one answer for "too large"
    kind = sniff(data)
    if kind is None:
        raise _refuse("type")
    if _ACTIVE_MARKERS.search(data):
        raise _refuse("polyglot")  # markup or script inside: would render as a web page somewhere
    if kind == PDF:
        return CleanFile(PNG, _rasterise_pdf(_check_pdf(data)))
    if b"%PDF-" in data:
        raise _refuse("polyglot")  # an image that is also a PDF
    return CleanFile(kind, _reencode_image(data, kind))


def _path_for(upload_dir: Path, storage_name: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{32}\.(?:jpg|png|pdf)", storage_name):
        raise NotFound(field="kk_file")
    path = (upload_dir / storage_name).resolve()
    if path.parent != upload_dir.resolve():
        raise NotFound(field="kk_file")
    return path


class _RemoveOnRollback:
    """Deletes a just-written file if the session's transaction rolls back before committing."""

    def __init__(self, session: Session, path: Path) -> None:
        self.path = path
        self.armed = True
        event.listen(session, "after_commit", self._disarm, once=True)
        event.listen(session, "after_rollback", self._remove, once=True)

    def _disarm(self, _session: Session) -> None:
        self.armed = False

    def _remove(self, _session: Session) -> None:
        if self.armed:
            self.path.unlink(missing_ok=True)


def store_kk(session: Session, clean: CleanFile, upload_dir: Path, retention_days: int, now: datetime | None = None) -> KkDocument:
    """Write the cleaned file under a random name and add its KkDocument row (flushes)."""
    now = now or utcnow()
    upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    storage_name = f"{secrets.token_hex(16)}.{EXTENSIONS[clean.content_type]}"
    path = _path_for(upload_dir, storage_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(clean.data)
    _RemoveOnRollback(session, path)
    doc = KkDocument(
        storage_name=storage_name,
        content_type=clean.content_type,
        size_bytes=len(clean.data),
        sha256=clean.sha256,
        uploaded_at=now,
        delete_after=now + timedelta(days=retention_days),
    )
    session.add(doc)
    session.flush()
    return doc


def read_kk(doc: KkDocument, upload_dir: Path) -> bytes:
    """The stored bytes of a KK document (NotFound once deleted)."""
    if doc.deleted_at is not None:
        raise NotFound(field="kk_file")
    path = _path_for(upload_dir, doc.storage_name)
    if not path.is_file():
        raise NotFound(field="kk_file")
    return path.read_bytes()


def remove_file(upload_dir: Path, storage_name: str) -> None:
    """Delete one stored KK file (gone already: nothing to do)."""
    try:
        _path_for(upload_dir, storage_name).unlink(missing_ok=True)
    except NotFound:
        pass


def purge_expired(session: Session, upload_dir: Path, now: datetime | None = None) -> int:
    """Delete files past their retention time; the row stays with ``deleted_at`` set."""
    now = now or utcnow()
    docs = session.exec(select(KkDocument).where(KkDocument.deleted_at.is_(None), KkDocument.delete_after <= now)).all()  # type: ignore[union-attr]
    for doc in docs:
        try:
            _path_for(upload_dir, doc.storage_name).unlink(missing_ok=True)
        except NotFound:
            pass
        doc.deleted_at = now
        session.add(doc)
    session.flush()
    return len(docs)
