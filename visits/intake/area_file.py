"""An office's service area from a CSV file: Kemendagri codes, names, postcodes and approximate
centroids of its kecamatan and kelurahan (``jemput init-office --area FILE``).

Columns (a header row, UTF-8, comma-separated)::

    kecamatan_code,kecamatan_name,kelurahan_code,kelurahan_name,postcode,lat,lon
    35.76.01,Prajurit Kulon,35.76.01.1003,Mentikan,61323,-7.4712,112.4172

Every row is checked before anything is stored: a bad row raises :class:`AreaFileError` naming
the row (1 = the first data row) and the field. Importing replaces the previous area: its
kelurahan and kecamatan are removed, which is refused while a resident still lives in one of them
that the new file does not keep.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from sqlmodel import Session, select

from visits.errors import InvalidInput
from visits.models import Kecamatan, Kelurahan, Resident

COLUMNS = ("kecamatan_code", "kecamatan_name", "kelurahan_code", "kelurahan_name", "postcode", "lat", "lon")
KECAMATAN_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}")
KELURAHAN_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}\.\d{4}")
POSTCODE = re.compile(r"\d{5}")


class AreaFileError(InvalidInput):
    """A bad row (or header) of an area file: nothing was stored."""

    def __init__(self, row: int, field: str, problem: str) -> None:
        super().__init__("admin.area.bad_row", field=field, row=row, problem=problem)
        self.row, self.problem = row, problem

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field}: {self.problem}"


@dataclass(frozen=True)
class AreaRow:
    kecamatan_code: str
    kecamatan_name: str
    kelurahan_code: str
    kelurahan_name: str
    postcode: str
    lat: float
    lon: float


def region_of(prefix: str) -> str:
    """``3516`` -> ``35.16`` (the dotted start of every code in the area)."""
    return f"{prefix[:2]}.{prefix[2:]}" if len(prefix) == 4 else prefix


def parse_area(text: str, region_prefix: str) -> list[AreaRow]:
    """Every row of the file, checked; raises AreaFileError at the first bad one."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if reader.fieldnames is None or tuple(f.strip() for f in reader.fieldnames) != COLUMNS:
        raise AreaFileError(0, "header", f"expected the columns {','.join(COLUMNS)}")
    region = region_of(region_prefix)
    rows: list[AreaRow] = []
    kecamatan_names: dict[str, str] = {}
    seen: set[str] = set()
    for n, raw in enumerate(reader, start=1):
        if None in raw or any(raw.get(c) is None for c in COLUMNS):
            raise AreaFileError(n, "columns", f"expected {len(COLUMNS)} columns")
        value = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        kec, kel = value["kecamatan_code"], value["kelurahan_code"]
        if not KECAMATAN_CODE.fullmatch(kec):
            raise AreaFileError(n, "kecamatan_code", "not a Kemendagri kecamatan code like 35.16.01")
        if not kec.startswith(region + "."):
            raise AreaFileError(n, "kecamatan_code", f"outside the region {region_prefix}")
        if not value["kecamatan_name"]:
            raise AreaFileError(n, "kecamatan_name", "empty")
        if kecamatan_names.setdefault(kec, value["kecamatan_name"]) != value["kecamatan_name"]:
            raise AreaFileError(n, "kecamatan_name", f"differs from an earlier row of {kec}")
        if not KELURAHAN_CODE.fullmatch(kel):
            raise AreaFileError(n, "kelurahan_code", "not a Kemendagri kelurahan code like 35.16.01.2001")
        if not kel.startswith(kec + "."):
            raise AreaFileError(n, "kelurahan_code", f"not inside the kecamatan {kec}")
        if kel in seen:
            raise AreaFileError(n, "kelurahan_code", "appears twice")
        seen.add(kel)
        if not value["kelurahan_name"] or len(value["kelurahan_name"]) > 100:
            raise AreaFileError(n, "kelurahan_name", "empty or longer than 100 characters")
        if not POSTCODE.fullmatch(value["postcode"]):
            raise AreaFileError(n, "postcode", "not 5 digits")
        coords = []
        for name, lo, hi in (("lat", -11.5, 6.5), ("lon", 94.5, 141.5)):  # Indonesia
            try:
                number = float(value[name])
            except ValueError:
                raise AreaFileError(n, name, "not a number") from None
            if not lo <= number <= hi:
                raise AreaFileError(n, name, "outside Indonesia")
            coords.append(number)
        rows.append(AreaRow(kec, value["kecamatan_name"], kel, value["kelurahan_name"], value["postcode"], coords[0], coords[1]))
    if not rows:
        raise AreaFileError(1, "rows", "the file has no kelurahan")
    return rows


def import_area(session: Session, rows: list[AreaRow]) -> tuple[int, int]:
    """Replace the service area with ``rows`` (flush only); returns (kecamatan, kelurahan) counts.

    Kelurahan kept by code keep their id (residents stay attached); others are removed, which is
    refused while a resident lives in one."""
    wanted = {r.kelurahan_code for r in rows}
    old = session.exec(select(Kelurahan)).all()
    for kel in old:
        if kel.code not in wanted:
            if session.exec(select(Resident.id).where(Resident.kelurahan_id == kel.id)).first() is not None:
                raise AreaFileError(0, "kelurahan_code", f"residents still live in {kel.code}, which the file leaves out")
            session.delete(kel)
    session.flush()
    kecamatan = {k.code: k for k in session.exec(select(Kecamatan)).all()}
    for r in rows:
        kec = kecamatan.get(r.kecamatan_code)
        if kec is None:
            kec = kecamatan[r.kecamatan_code] = Kecamatan(code=r.kecamatan_code, name=r.kecamatan_name)
        kec.name = r.kecamatan_name
        session.add(kec)
    session.flush()
    kept = {k.code: k for k in session.exec(select(Kelurahan)).all()}
    for r in rows:
        kel = kept.get(r.kelurahan_code) or Kelurahan(code=r.kelurahan_code, name=r.kelurahan_name, postcode=r.postcode, kecamatan_id=kecamatan[r.kecamatan_code].id, lat=r.lat, lon=r.lon)  # type: ignore[arg-type]
        kel.name, kel.postcode, kel.lat, kel.lon, kel.kecamatan_id = r.kelurahan_name, r.postcode, r.lat, r.lon, kecamatan[r.kecamatan_code].id  # type: ignore[assignment]
        session.add(kel)
    session.flush()
    wanted_kec = {r.kecamatan_code for r in rows}
    for code, kec in kecamatan.items():
        if code not in wanted_kec:
            session.delete(kec)
    session.flush()
    return len(wanted_kec), len(rows)


def set_office(session: Session, *, name: str, address: str, lat: float, lon: float) -> None:
    """The office row (name, address, location: where every team starts and ends)."""
    from visits.models import Office

    office = session.exec(select(Office)).first() or Office(name=name, address=address, lat=lat, lon=lon)
    office.name, office.address, office.lat, office.lon = name, address, lat, lon
    session.add(office)
    session.flush()
