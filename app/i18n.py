"""Bahasa Indonesia (default) and English message catalogs.

Language comes from the ``lang`` cookie, then Accept-Language, then the setting.
Catalogs are flat JSON files ``app/locales/<lang>/*.json`` (one per feature), merged per
language; a missing key in English falls back to Indonesian, and a missing key everywhere
shows the key (a test checks both catalogs have the same keys).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("id", "en")
LOCALES_DIR = Path(__file__).resolve().parent / "locales"
LANG_COOKIE = "lang"


@lru_cache
def catalog(lang: str) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / lang).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def translate(key: str, lang: str, **params: Any) -> str:
    text = catalog(lang).get(key) or catalog("id").get(key) or key
    return text.format(**params) if params else text


def negotiate(cookie: str | None, accept_language: str | None, default: str) -> str:
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
        if primary == "in":  # legacy code for Indonesian
            return "id"
    return default


class Translator:
    """Bound to one language; templates call it as ``_("key", name=...)``."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return translate(key, self.lang, **params)
