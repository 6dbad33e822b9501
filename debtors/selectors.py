import base64
import csv
import datetime
import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Upper

from campaigns.models import Message, MessageStatus
from campaigns.results import debtor_last_reply
from debtors.imports.mapping import Mapping
from debtors.imports.progress import progress_read
from debtors.imports.readers import FileInfo
from debtors.models import (
    Debtor,
    DebtorImport,
    DebtorStatus,
    Disposition,
    DispositionKind,
    DoNotContact,
    ImportStatus,
    OnWhatsApp,
)
from whatsmassive.db import SearchKey

PAGE_SIZE = 50


def debtor_search(
    *,
    q: str = "",
    status: str = "",
    amount_min: Decimal | None = None,
    amount_max: Decimal | None = None,
    disposition: str = "",
) -> QuerySet[Debtor]:
    """Debtors matching a name, phone or reference search and the list filters.

    `disposition`: a kind of the current disposition, `broken` (a broken promise) or `none`.
    """
    debtors = debtor_search_filter(Debtor.objects.select_related("current_disposition__by"), q)
    if status == "opted_out":
        debtors = debtors.filter(opted_out=True)
    elif status:
        debtors = debtors.filter(status=status)
    if amount_min is not None:
        debtors = debtors.filter(amount__gte=amount_min)
    if amount_max is not None:
        debtors = debtors.filter(amount__lte=amount_max)
    if disposition == "none":
        debtors = debtors.filter(current_disposition__isnull=True)
    elif disposition == "broken":
        debtors = debtors.filter(current_disposition__broken_on__isnull=False)
    elif disposition:
        debtors = debtors.filter(current_disposition__kind=disposition)
    return debtors


def debtor_search_condition(q: str) -> Q:
    """What every debtor search matches: the name ignoring accents and case ("jose" finds
    "José"), the whole reference ignoring case, and a phone typed in any usual form.

    Each part is served by its own index (see debtors migration 0014), so the OR of them is a
    bitmap OR of index scans, not a scan of the table.
    """
    condition = Q(name_search_key__contains=SearchKey(Value(q))) | Q(
        reference_upper=Upper(Value(q))
    )
    digits = "".join(char for char in q if char.isdigit())
    if len(digits) >= 4 and len(digits) >= len(q.replace(" ", "")) - 3:
        # A phone typed the way operators type it (300 123 4567) finds its E.164 form.
        condition |= Q(phone_e164__contains=digits)
        try:
            number = phonenumbers.parse(q, settings.DEFAULT_PHONE_REGION)
        except phonenumbers.NumberParseException:
            return condition
        condition |= Q(
            phone_e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        )
    return condition


def debtor_search_filter(debtors: QuerySet[Debtor], q: str) -> QuerySet[Debtor]:
    """`debtors` narrowed to those `q` finds (all of them when `q` is blank)."""
    q = q.strip()
    if not q:
        return debtors
    return debtors.alias(
        name_search_key=SearchKey("name"), reference_upper=Upper("reference")
    ).filter(debtor_search_condition(q))


@dataclass(frozen=True)
class DebtorPage:
    debtors: list[Debtor]
    next_cursor: str
    is_first: bool


def debtor_page(
    *, debtors: QuerySet[Debtor], cursor: str = "", size: int = PAGE_SIZE
) -> DebtorPage:
    """One page in (name, id) order, continuing after `cursor` (keyset: no OFFSET, no COUNT,
    so page 2,000 costs what page 1 costs)."""
    after = _decode_cursor(cursor)
    if after is not None:
        name, pk = after
        debtors = debtors.filter(Q(name__gt=name) | Q(name=name, id__gt=pk), name__gte=name)
    rows = list(debtors.order_by("name", "id")[: size + 1])
    next_cursor = _encode_cursor(rows[size - 1]) if len(rows) > size else ""
    return DebtorPage(debtors=rows[:size], next_cursor=next_cursor, is_first=after is None)


def _encode_cursor(debtor: Debtor) -> str:
    raw = json.dumps([debtor.name, debtor.pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int] | None:
    if not cursor:
        return None
    try:
        name, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(pk, int):
        return None
    return name, pk


def debtor_message_history(*, debtor: Debtor) -> QuerySet[Message]:
    """Every message to the debtor across campaigns, newest first, with their replies."""
    return (
        Message.objects.filter(debtor=debtor)
        .select_related("campaign", "session")
        .prefetch_related("replies")
        .order_by("-created_at", "-id")
    )


def debtor_dispositions(*, debtor: Debtor) -> QuerySet[Disposition]:
    """The debtor's dispositions, newest (its current one) first."""
    return Disposition.objects.filter(debtor=debtor).select_related("by").order_by("-at", "-id")


def promises_broken_on(*, day: datetime.date) -> QuerySet[Disposition]:
    """Promises found broken on `day`, with their debtor and its current disposition."""
    return (
        Disposition.objects.filter(kind=DispositionKind.PROMISE, broken_on=day)
        .select_related("debtor__current_disposition", "by")
        .order_by("debtor__name", "debtor_id", "id")
    )


_SENT_STATUS_TO_DEBTOR: dict[str, DebtorStatus] = {
    MessageStatus.SENT: DebtorStatus.SENT,
    MessageStatus.UNKNOWN: DebtorStatus.SENT,
    MessageStatus.DELIVERED: DebtorStatus.DELIVERED,
    MessageStatus.READ: DebtorStatus.READ,
}


def debtor_outreach_status(*, debtor: Debtor) -> DebtorStatus:
    """The status the debtor's messages give it, as the engine would have set it: where a
    debtor reopened after a closing disposition goes back to."""
    with_reply = Debtor.objects.filter(pk=debtor.pk).annotate(**debtor_last_reply()).first()
    if getattr(with_reply, "last_reply_at", None) is not None:
        return DebtorStatus.REPLIED
    if debtor.on_whatsapp == OnWhatsApp.NO:
        return DebtorStatus.UNREACHABLE
    latest = (
        Message.objects.filter(debtor=debtor, sent_at__isnull=False)
        .order_by("-sent_at", "-id")
        .values_list("status", flat=True)
        .first()
    )
    if latest is None:
        return DebtorStatus.NEW
    return _SENT_STATUS_TO_DEBTOR.get(latest, DebtorStatus.NEW)


def debtor_import_list(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[DebtorImport]:
    imports = DebtorImport.objects.select_related("created_by")
    if not getattr(user, "is_staff", False):
        imports = imports.filter(created_by_id=user.pk)
    return imports


@dataclass(frozen=True)
class ImportPreview:
    headers: list[str]
    rows: list[list[str]]
    mapping: Mapping


def debtor_import_file_info(*, debtor_import: DebtorImport) -> FileInfo:
    return FileInfo(
        format=debtor_import.format,
        encoding=debtor_import.encoding,
        delimiter=debtor_import.delimiter,
        rows_total=debtor_import.rows_total,
    )


def debtor_import_preview(*, debtor_import: DebtorImport) -> ImportPreview | None:
    """The preview the worker stored; None while it is still being prepared."""
    if debtor_import.preview is None:
        return None
    return ImportPreview(
        headers=debtor_import.preview["headers"],
        rows=debtor_import.preview["rows"],
        mapping=Mapping.from_json(debtor_import.mapping),
    )


def debtor_import_with_progress(*, debtor_import: DebtorImport) -> DebtorImport:
    """The import with its live counters while it runs (they reach the row only at the end)."""
    if debtor_import.status == ImportStatus.RUNNING:
        counts = progress_read(debtor_import_id=debtor_import.pk)
        if counts is not None:
            for name, value in vars(counts).items():
                setattr(debtor_import, name, value)
    return debtor_import


@dataclass(frozen=True)
class RejectedRow:
    row: str
    name: str
    column: str
    value: str
    reason: str


def debtor_import_rejected_rows(
    *, debtor_import: DebtorImport, limit: int = 10
) -> list[RejectedRow]:
    """The first lines of the error report, to show on the result page."""
    if not debtor_import.error_report:
        return []
    with debtor_import.error_report.open("rb") as handle:
        lines = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        reader = csv.reader(lines)
        next(reader, None)
        return [RejectedRow(*line) for line in itertools.islice(reader, limit) if len(line) == 5]


def debtor_import_error_report_lines(*, debtor_import: DebtorImport) -> Iterator[list[str]]:
    """Every line of the error report, header first, read as it streams."""
    with debtor_import.error_report.open("rb") as handle:
        yield from csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))


def do_not_contact_search(*, q: str = "") -> QuerySet[DoNotContact]:
    """Registry entries whose phone holds the digits typed (or whose reason holds `q`)."""
    entries = DoNotContact.objects.select_related("added_by")
    q = q.strip()
    if not q:
        return entries
    digits = "".join(char for char in q if char.isdigit())
    condition = Q(reason__icontains=q)
    if len(digits) >= 4:
        condition |= Q(phone_e164__contains=digits)
    return entries.filter(condition)


@dataclass(frozen=True)
class DoNotContactPage:
    entries: list[DoNotContact]
    next_cursor: int | None
    is_first: bool


def do_not_contact_page(
    *, entries: QuerySet[DoNotContact], before: int | None = None, size: int = PAGE_SIZE
) -> DoNotContactPage:
    """Newest entries first, continuing before id `before` (keyset: no OFFSET, no COUNT)."""
    if before is not None:
        entries = entries.filter(id__lt=before)
    rows = list(entries.order_by("-id")[: size + 1])
    next_cursor = rows[size - 1].pk if len(rows) > size else None
    return DoNotContactPage(entries=rows[:size], next_cursor=next_cursor, is_first=before is None)
