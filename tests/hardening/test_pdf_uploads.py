"""Finding 9 of the issue (PDF uploads stored as sent): a KK PDF is rasterised and stored as a
PNG; scripts hidden behind escaped names or in compressed object streams, and ``/Author``
metadata, do not survive."""

from __future__ import annotations

import io
import zlib

from PIL import Image

from tests.intake.intake_fixtures import pdf_bytes
from visits.intake.uploads import PNG, clean_upload


def _pdf_with(extra_catalog: bytes = b"", info: bytes = b"", stream: bytes = b"") -> bytes:
    objects = [
        b"<</Type/Catalog/Pages 2 0 R" + extra_catalog + b">>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>",
    ]
    if stream:
        packed = zlib.compress(stream)
        objects.append(b"<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length " + str(len(packed)).encode() + b">>stream\n" + packed + b"\nendstream")
    if info:
        objects.append(info)
    body = b"%PDF-1.5\n"
    offsets = []
    for n, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{n} 0 obj".encode() + obj + b"endobj\n"
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    trailer = b"trailer<</Size " + str(len(objects) + 1).encode() + b"/Root 1 0 R" + (f"/Info {len(objects)} 0 R".encode() if info else b"") + b">>\n"
    return body + trailer + f"startxref\n{xref}\n%%EOF\n".encode()


def _is_png_only(clean) -> None:  # noqa: ANN001
    assert clean.content_type == PNG
    assert clean.data.startswith(b"\x89PNG") and b"%PDF" not in clean.data
    image = Image.open(io.BytesIO(clean.data))
    image.load()
    assert image.width > 500


def test_a_plain_pdf_is_stored_as_a_png_of_its_page() -> None:
    _is_png_only(clean_upload(pdf_bytes(), 5 * 1024 * 1024))


def test_escaped_names_compressed_scripts_and_metadata_do_not_survive() -> None:
    escaped = _pdf_with(extra_catalog=b"/Open#41ction<</S/J#61vaScript/J#53(app.alert(1))>>")
    compressed = _pdf_with(stream=b"4 0 <</S/JavaScript/JS(app.alert(2))>>")
    authored = _pdf_with(info=b"<</Author(Budi Santoso 3576011708444242)/Title(KK)>>")
    for data in (escaped, compressed, authored):
        clean = clean_upload(data, 5 * 1024 * 1024)
        _is_png_only(clean)
        for marker in (b"alert", b"JavaScript", b"Budi", b"3576011708444242", b"Author"):
            assert marker not in clean.data
