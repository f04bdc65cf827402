"""The outcome body of the field API, shared by the JSON endpoint and the tablet page's no-JavaScript form."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.deps import MAX_ID


class OutcomeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: str = Field(min_length=8, max_length=36, pattern=r"^[0-9A-Za-z-]+$", description="A uuid4 made on the tablet; a replay with the same body answers the first answer.")
    outcome: Literal["recorded", "not_home", "companion_absent", "unwell", "refused", "wrong_address", "moved", "deceased", "already_recorded", "kit_failure"]
    arrived_at: datetime
    finished_at: datetime
    note: str | None = Field(default=None, max_length=2000)
    lat: float | None = Field(default=None, ge=-90, le=90, strict=True)  # strict: false is no latitude (lax mode read it as 0.0)
    lon: float | None = Field(default=None, ge=-180, le=180, strict=True)
    request_id: int | None = Field(
        default=None, ge=1, le=MAX_ID, description="A group visit: the request of the resident this outcome is for (each resident gets their own); the visit's own request when omitted."
    )
