"""Who a campaign's audience filter reaches: the operator's filters, then the guards that
leave out closed debtors (paid, disputed, wrong number) and recently contacted ones."""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from campaigns.models import Message
from debtors.models import CLOSED_STATUSES, Debtor
from debtors.selectors import debtor_search_filter
from whatsmassive import clock


def audience_filtered(audience: dict[str, Any]) -> QuerySet[Debtor]:
    """The debtors the operator's filters match, before the closed and re-contact guards."""
    debtors = Debtor.objects.filter(opted_out=False)
    if audience.get("status"):
        debtors = debtors.filter(status__in=audience["status"])
    if audience.get("amount_min") not in (None, ""):
        debtors = debtors.filter(amount__gte=Decimal(str(audience["amount_min"])))
    if audience.get("amount_max") not in (None, ""):
        debtors = debtors.filter(amount__lte=Decimal(str(audience["amount_max"])))
    if audience.get("due_from"):
        debtors = debtors.filter(due_date__gte=audience["due_from"])
    if audience.get("due_to"):
        debtors = debtors.filter(due_date__lte=audience["due_to"])
    if audience.get("search"):
        debtors = debtor_search_filter(debtors, str(audience["search"]))
    return debtors


def _closed_left_out(audience: dict[str, Any]) -> list[str]:
    # A closed status ticked in the status filter is asked for: it is not left out.
    ticked = set(audience.get("status") or [])
    return [status for status in CLOSED_STATUSES if status not in ticked]


def audience_recent_days(audience: dict[str, Any]) -> int:
    """How many days back a send counts as a recent contact (0: the guard is off)."""
    days = audience.get("recent_days")
    return settings.CAMPAIGN_RECONTACT_DAYS if days in (None, "") else int(days)


def _recently_contacted(audience: dict[str, Any]) -> QuerySet[Message, int]:
    since = clock.now() - datetime.timedelta(days=audience_recent_days(audience))
    return Message.objects.filter(sent_at__gte=since).values_list("debtor_id", flat=True)


def audience_debtors(*, audience: dict[str, Any]) -> QuerySet[Debtor]:
    """Debtors a campaign with this audience filter would message (never opted-out ones).

    Keys (all optional): `status` (list of debtor statuses), `amount_min`, `amount_max`,
    `due_from`, `due_to` (ISO dates), `search` (name or reference contains). Closed debtors
    (paid, disputed, wrong number: unless their status is ticked) are left out unless
    `include_closed`; debtors sent a message in the last `recent_days` days (default
    CAMPAIGN_RECONTACT_DAYS, 0 for no limit) unless `include_recent`.
    """
    debtors = audience_filtered(audience)
    if not audience.get("include_closed"):
        debtors = debtors.exclude(status__in=_closed_left_out(audience))
    if not audience.get("include_recent") and audience_recent_days(audience) > 0:
        debtors = debtors.exclude(pk__in=_recently_contacted(audience))
    return debtors


@dataclass(frozen=True)
class AudienceGuards:
    """Debtors the filters match that the guards concern (counted whether or not they are
    included)."""

    closed: int
    closed_included: bool
    recent: int
    recent_days: int
    recent_included: bool


def audience_guards(*, audience: dict[str, Any]) -> AudienceGuards:
    matched = audience_filtered(audience)
    days = audience_recent_days(audience)
    return AudienceGuards(
        closed=matched.filter(status__in=_closed_left_out(audience)).count(),
        closed_included=bool(audience.get("include_closed")),
        recent=matched.filter(pk__in=_recently_contacted(audience)).count() if days > 0 else 0,
        recent_days=days,
        recent_included=bool(audience.get("include_recent")),
    )
