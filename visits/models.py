"""Every table of the product, re-exported from each domain's ``models`` module (Alembic's
``target_metadata`` and the tests import this one).

Table models skip validation: input and output schemas live in ``visits/schemas.py``.
Enumerations are stored as short strings guarded by named CHECK constraints, so the
schema is the same on SQLite and PostgreSQL and migrations stay plain.
Wall-clock visit times (days, windows) are local to the office's timezone; instants
(created, expires, sent...) are UTC (``UTCDateTime``).
"""

from __future__ import annotations

from visits.intake.models import (  # noqa: F401
    Sex,
    MaritalStatus,
    Group,
    LocationSource,
    Channel,
    RequestStatus,
    OPEN_REQUEST_STATUSES,
    ConsentBy,
    Office,
    Kecamatan,
    Kelurahan,
    Resident,
    KkDocument,
    VisitRequest,
    TrackingLink,
)
from visits.teams.models import (  # noqa: F401
    KitState,
    Team,
    TeamSkill,
    TeamMember,
    RecordingKit,
    ShiftPattern,
    OfficeClosure,
    ServiceRule,
    CalendarOverride,
)
from visits.booking.models import (  # noqa: F401
    HoldStatus,
    BookingStatus,
    SlotHold,
    Booking,
)
from visits.planning.models import (  # noqa: F401
    PlanStatus,
    TeamDay,
    Plan,
    PlanStop,
)
from visits.field.models import (  # noqa: F401
    VisitOutcome,
    NextStep,
    Visit,
    OnOurWay,
    TeamStand,
)
from visits.staff.models import (  # noqa: F401
    Role,
    User,
    UserSession,
    ApiToken,
    LoginAttempt,
    RateLimitHit,
    AuditLog,
)
from visits.outbox import (  # noqa: F401
    NotificationStatus,
    Notification,
)
from visits.reporting.models import (  # noqa: F401
    CoverageBaseline,
    CoverageBaselineRow,
    FollowUpSurvey,
    CardDelivery,
)
from visits.tables import metadata  # noqa: F401
