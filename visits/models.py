"""Every table of the product, re-exported from each domain's ``models`` module (Alembic's
``target_metadata`` and the tests import this one).

Table models skip validation: input and output schemas live in ``visits/schemas.py``.
Enumerations are stored as short strings guarded by named CHECK constraints, so the
schema is the same on SQLite and PostgreSQL and migrations stay plain.
Wall-clock visit times (days, windows) are local to the office's timezone; instants
(created, expires, sent...) are UTC (``UTCDateTime``).
"""

from __future__ import annotations

from visits.booking.models import (  # noqa: F401
    Booking,
    BookingStatus,
    GroupMember,
    HoldStatus,
    SlotHold,
)
from visits.field.models import (  # noqa: F401
    NextStep,
    OnOurWay,
    TeamStand,
    Visit,
    VisitOutcome,
)
from visits.intake.models import (  # noqa: F401
    OPEN_REQUEST_STATUSES,
    Channel,
    ConsentBy,
    Group,
    Kecamatan,
    Kelurahan,
    KkDocument,
    LocationSource,
    MaritalStatus,
    Office,
    RequestStatus,
    Resident,
    Sex,
    TrackingLink,
    VisitRequest,
)
from visits.outbox import (  # noqa: F401
    Notification,
    NotificationStatus,
)
from visits.outreach.models import (  # noqa: F401
    CallResult,
    OutreachCall,
    OutreachCampaign,
    OutreachProposal,
    OutreachReferral,
    OutreachResident,
    OutreachState,
    PartnerKind,
)
from visits.planning.models import (  # noqa: F401
    Plan,
    PlanStatus,
    PlanStop,
    TeamDay,
    TravelPair,
)
from visits.reporting.models import (  # noqa: F401
    CardDelivery,
    CoverageBaseline,
    CoverageBaselineRow,
    FollowUpSurvey,
)
from visits.staff.models import (  # noqa: F401
    ApiToken,
    AuditLog,
    LoginAttempt,
    RateLimitHit,
    Role,
    User,
    UserSession,
)
from visits.tables import metadata  # noqa: F401
from visits.teams.models import (  # noqa: F401
    CalendarOverride,
    KitState,
    OfficeClosure,
    RecordingKit,
    ServiceRule,
    ShiftPattern,
    Team,
    TeamMember,
    TeamSkill,
)
