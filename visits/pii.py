"""Personal numbers at rest (UU 27/2022 art. 35–39): the NIK and the KK number are stored sealed.

- :func:`seal` / :func:`open_`: AES-256-GCM with a random 96-bit nonce; the stored text is
  ``<key id>:<base64url(nonce + ciphertext + tag)>``, so a value sealed under an older key still
  opens while :func:`rotate` (``jemput rotate-data-key``) re-seals it under the current one. The
  purpose (``resident.nik``, ``visit_request.kk_number``) is the associated data: a sealed value
  copied into another column does not open.
- :func:`lookup_hash`: HMAC-SHA256 of the value under a key derived from the current data key,
  for lookups and the duplicate check (``resident.nik_hash``, unique). During a rotation rows may
  still carry the hash of an older key, so lookups match :func:`lookup_hashes` (one per key).
- :class:`Sealed`: the column type; the model's attribute holds the plain value, the database
  only the sealed one. A sealed column cannot be compared in SQL (it would never match): look
  up by the hash column.

The keys come from the settings (``JEMPUT_DATA_KEYS``: the current key first, then older ones
still to be rotated away; ``secret`` names the key derived from ``JEMPUT_SECRET_KEY``, the
default, so the demo needs no setup). The app registers where they come from with :func:`use`.
Nothing here logs or echoes a value or a key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

DERIVED = "secret"  # in JEMPUT_DATA_KEYS: the key derived from JEMPUT_SECRET_KEY (id "s")
DERIVED_ID = "s"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
NONCE_BYTES = 12

NIK = "resident.nik"
KK = "visit_request.kk_number"


class DataKeyError(ValueError):
    """A malformed key setting, or a sealed value no configured key opens (never shows a key)."""


def _hkdf(material: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)


@dataclass(frozen=True)
class DataKey:
    id: str
    seal_key: bytes  # AES-256-GCM
    hash_key: bytes  # HMAC-SHA256 for lookup hashes

    @classmethod
    def from_material(cls, key_id: str, material: bytes) -> DataKey:
        return cls(key_id, _hkdf(material, b"jemput seal v1"), _hkdf(material, b"jemput lookup v1"))

    def __repr__(self) -> str:  # never print the key
        return f"DataKey({self.id!r})"


@dataclass(frozen=True)
class Keyring:
    keys: tuple[DataKey, ...]  # the first is current

    @property
    def current(self) -> DataKey:
        return self.keys[0]

    def get(self, key_id: str) -> DataKey:
        for key in self.keys:
            if key.id == key_id:
                return key
        raise DataKeyError(f"no configured data key has the id {key_id!r} (is it still in JEMPUT_DATA_KEYS?)")


def parse_keys(spec: str, secret_key: str) -> Keyring:
    """``JEMPUT_DATA_KEYS``: comma-separated ``<id>:<base64 of 32 random bytes>`` or ``secret``."""
    keys: list[DataKey] = []
    for i, item in enumerate(part.strip() for part in (spec or DERIVED).split(",")):
        if not item:
            continue
        if item == DERIVED:
            if not secret_key:
                raise DataKeyError("JEMPUT_DATA_KEYS names 'secret' but there is no secret key")
            keys.append(DataKey.from_material(DERIVED_ID, _hkdf(secret_key.encode(), b"jemput data key from the secret key")))
            continue
        key_id, sep, encoded = item.partition(":")
        if not sep or not KEY_ID.match(key_id) or key_id == DERIVED_ID:
            raise DataKeyError(f"JEMPUT_DATA_KEYS item {i + 1}: expected <id>:<base64 key> with an id of 1-16 letters, digits, - or _ (not 's')")
        try:
            material = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            material = b""
        if len(material) != 32:
            raise DataKeyError(f"JEMPUT_DATA_KEYS key {key_id!r}: expected the base64 of 32 bytes (`jemput new-data-key` makes one)")
        keys.append(DataKey.from_material(key_id, material))
    if not keys:
        raise DataKeyError("JEMPUT_DATA_KEYS names no key")
    if len({k.id for k in keys}) != len(keys):
        raise DataKeyError("JEMPUT_DATA_KEYS names one key id twice")
    return Keyring(tuple(keys))


def new_key_spec(key_id: str | None = None) -> str:
    """A fresh ``<id>:<key>`` item for ``JEMPUT_DATA_KEYS``."""
    key_id = key_id or "k" + secrets.token_hex(3)
    if not KEY_ID.match(key_id) or key_id == DERIVED_ID:
        raise DataKeyError("a key id is 1-16 letters, digits, - or _ (not 's')")
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


_source: Callable[[], Keyring] | None = None


def use(source: Callable[[], Keyring]) -> None:
    """Where the keys come from (the app: its settings). Called once at import by ``app.db``."""
    global _source
    _source = source


def keyring() -> Keyring:
    if _source is None:
        raise DataKeyError("no data keys configured (visits.pii.use was not called)")
    return _source()


def seal(value: str, purpose: str, key: DataKey | None = None) -> str:
    key = key or keyring().current
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(key.seal_key).encrypt(nonce, value.encode(), purpose.encode())
    return f"{key.id}:{base64.urlsafe_b64encode(blob).decode().rstrip('=')}"


def key_id_of(sealed: str) -> str:
    return sealed.partition(":")[0]


def open_(sealed: str, purpose: str) -> str:
    key_id, sep, encoded = sealed.partition(":")
    if not sep:
        raise DataKeyError("not a sealed value")
    key = keyring().get(key_id)
    blob = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    try:
        return AESGCM(key.seal_key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], purpose.encode()).decode()
    except InvalidTag:
        raise DataKeyError(f"a value sealed under key {key_id!r} does not open (wrong key or damaged)") from None


def lookup_hash(value: str, purpose: str = NIK, key: DataKey | None = None) -> str:
    key = key or keyring().current
    return hmac.new(key.hash_key, purpose.encode() + b"\0" + value.encode(), hashlib.sha256).hexdigest()


def lookup_hashes(value: str, purpose: str = NIK) -> list[str]:
    """The value's hash under every configured key (the current first): what a lookup matches."""
    return [lookup_hash(value, purpose, key) for key in keyring().keys]


class Sealed(TypeDecorator[str]):
    """A text column holding ``seal(value, purpose)``; the attribute holds the plain value."""

    impl = Text
    cache_ok = True

    class comparator_factory(Text.Comparator[str]):  # noqa: N801 - SQLAlchemy's hook name
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op.__name__ not in ("is_", "is_not", "isnot") and not (other and other[0] is None):
                raise TypeError("a sealed column cannot be compared in SQL (values are sealed with a random nonce): look up by its hash column")
            return super().operate(op, *other, **kwargs)

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else open_(value, self.purpose)

    def copy(self, **kw: Any) -> Sealed:
        return Sealed(self.purpose)
