"""The service area: Kota Mojokerto's kecamatan and kelurahan (Kemendagri codes, BRIEF.md).

Centroids are approximate (the city publishes none in one place): they place a home on the
map until a map pin, a geocoder or the officer's GPS refines it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from visits.models import Kecamatan, Kelurahan, Office


@dataclass(frozen=True)
class KelurahanData:
    code: str  # last part of the Kemendagri code, e.g. "1003"
    name: str
    postcode: str
    lat: float
    lon: float


@dataclass(frozen=True)
class KecamatanData:
    code: str  # "35.76.01"
    name: str
    kelurahan: tuple[KelurahanData, ...]


KOTA_MOJOKERTO_CENTRE = (-7.4722, 112.4336)

KOTA_MOJOKERTO: tuple[KecamatanData, ...] = (
    KecamatanData(
        "35.76.01",
        "Prajurit Kulon",
        (
            KelurahanData("1003", "Mentikan", "61323", -7.4712, 112.4172),
            KelurahanData("1004", "Kauman", "61324", -7.4698, 112.4268),
            KelurahanData("1005", "Pulorejo", "61325", -7.4788, 112.4190),
            KelurahanData("1006", "Prajurit Kulon", "61326", -7.4772, 112.4262),
            KelurahanData("1007", "Surodinawan", "61328", -7.4858, 112.4168),
            KelurahanData("1008", "Blooto", "61327", -7.4902, 112.4255),
        ),
    ),
    KecamatanData(
        "35.76.02",
        "Magersari",
        (
            KelurahanData("1001", "Gunung Gedangan", "61315", -7.4893, 112.4418),
            KelurahanData("1003", "Magersari", "61318", -7.4752, 112.4428),
            KelurahanData("1004", "Gedongan", "61319", -7.4785, 112.4368),
            KelurahanData("1008", "Balongsari", "61314", -7.4832, 112.4472),
            KelurahanData("1009", "Kedundung", "61316", -7.4718, 112.4492),
            KelurahanData("1010", "Wates", "61317", -7.4648, 112.4512),
        ),
    ),
    KecamatanData(
        "35.76.03",
        "Kranggan",
        (
            KelurahanData("1001", "Kranggan", "61321", -7.4638, 112.4298),
            KelurahanData("1002", "Miji", "61322", -7.4598, 112.4402),
            KelurahanData("1003", "Meri", "61315", -7.4668, 112.4445),
            KelurahanData("1004", "Jagalan", "61313", -7.4662, 112.4362),
            KelurahanData("1005", "Sentanan", "61312", -7.4688, 112.4328),
            KelurahanData("1006", "Purwotengah", "61311", -7.4706, 112.4352),
        ),
    ),
)


def ensure_service_area(session: Session, area: tuple[KecamatanData, ...] = KOTA_MOJOKERTO) -> int:
    """Insert missing kecamatan and kelurahan (idempotent); returns how many rows were added."""
    added = 0
    for kec in area:
        kec_row = session.exec(select(Kecamatan).where(Kecamatan.code == kec.code)).first()
        if kec_row is None:
            kec_row = Kecamatan(code=kec.code, name=kec.name)
            session.add(kec_row)
            session.flush()
            added += 1
        assert kec_row.id is not None
        for kel in kec.kelurahan:
            code = f"{kec.code}.{kel.code}"
            if session.exec(select(Kelurahan).where(Kelurahan.code == code)).first() is None:
                session.add(Kelurahan(code=code, name=kel.name, postcode=kel.postcode, kecamatan_id=kec_row.id, lat=kel.lat, lon=kel.lon))
                added += 1
    session.flush()
    return added


def ensure_office(session: Session, name: str, address: str, lat: float, lon: float) -> Office:
    office = session.exec(select(Office)).first()
    if office is None:
        office = Office(name=name, address=address, lat=lat, lon=lon)
        session.add(office)
        session.flush()
    return office
