import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.models import MessageStatus
from debtors.models import Debtor, DoNotContact, OptOutSource
from debtors.registry import (
    ReasonRequired,
    do_not_contact_add,
    do_not_contact_import,
    do_not_contact_remove,
)
from debtors.services import debtor_opt_out
from tests.factories import DebtorFactory, MessageFactory
from whatsmassive.models import AuditKind, AuditRecord

pytestmark = pytest.mark.django_db


def test_an_opt_out_puts_the_phone_on_the_registry_with_an_audit_record(operator):
    debtor = DebtorFactory(phone_e164="+573001112233")
    at = timezone.now() - datetime.timedelta(minutes=5)
    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk),
        at=at,
        source=OptOutSource.REPLY,
        reason="Replied: baja",
        by=operator,
    )
    entry = DoNotContact.objects.get()
    assert (entry.phone_e164, entry.source, entry.reason, entry.added_at) == (
        "+573001112233",
        OptOutSource.REPLY,
        "Replied: baja",
        at,
    )
    record = AuditRecord.objects.get(kind=AuditKind.OPT_OUT)
    assert (record.phone_e164, record.by_name, record.action) == (
        "+573001112233",
        operator.username,
        "reply",
    )
    assert record.detail["debtor_id"] == debtor.pk


def test_a_second_opt_out_keeps_the_first_entry_and_records_nothing_new():
    debtor = DebtorFactory()
    first = timezone.now() - datetime.timedelta(days=1)
    for at in (first, timezone.now()):
        debtor_opt_out(
            debtors=Debtor.objects.filter(pk=debtor.pk), at=at, source=OptOutSource.OPERATOR
        )
    assert DoNotContact.objects.get().added_at == first
    assert AuditRecord.objects.filter(kind=AuditKind.OPT_OUT).count() == 1


def test_a_phone_added_by_hand_opts_out_its_debtor_and_skips_unsent_messages(operator):
    message = MessageFactory(debtor__phone_e164="+573004445566")
    assert do_not_contact_add(phone_e164="+573004445566", reason="Asked by phone", by=operator)
    assert not do_not_contact_add(phone_e164="+573004445566", reason="again", by=operator)
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED
    assert Debtor.objects.get().opted_out
    assert DoNotContact.objects.get().added_by == operator


def test_a_phone_without_debtor_goes_on_the_registry(operator):
    do_not_contact_add(phone_e164="+573009998877", reason="", by=operator)
    assert DoNotContact.objects.filter(phone_e164="+573009998877").exists()


def test_a_viewer_cannot_add_a_phone(viewer):
    with pytest.raises(PermissionDenied):
        do_not_contact_add(phone_e164="+573009998877", reason="", by=viewer)
    assert not DoNotContact.objects.exists()


def test_a_supervisor_removes_a_phone_with_a_reason_and_it_is_recorded(supervisor):
    debtor = DebtorFactory()
    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk), at=timezone.now(), source=OptOutSource.REPLY
    )
    entry = DoNotContact.objects.get()
    assert do_not_contact_remove(entry=entry, reason="Written consent 2026-12-01", by=supervisor)
    assert not DoNotContact.objects.exists()
    debtor.refresh_from_db()
    assert not debtor.opted_out
    record = AuditRecord.objects.get(kind=AuditKind.CONSENT)
    assert record.detail["reason"] == "Written consent 2026-12-01"
    assert record.by_name == supervisor.username


def test_a_removal_needs_a_reason_and_a_supervisor(operator, supervisor):
    do_not_contact_add(phone_e164="+573001230000", reason="", by=operator)
    entry = DoNotContact.objects.get()
    with pytest.raises(PermissionDenied):
        do_not_contact_remove(entry=entry, reason="consent", by=operator)
    with pytest.raises(ReasonRequired):
        do_not_contact_remove(entry=entry, reason="  ", by=supervisor)
    assert DoNotContact.objects.exists()


def test_an_imported_list_is_normalised_deduplicated_and_reported(operator):
    DebtorFactory(phone_e164="+573001110001")
    do_not_contact_add(phone_e164="+573001110002", reason="", by=operator)
    upload = SimpleUploadedFile(
        "dnc.csv",
        "celular,motivo\n"
        "300 111 0001,pidió no ser contactado\n"
        "+57 300 111 0001,repetido\n"
        "3001110002,ya estaba\n"
        "hola,no es teléfono\n"
        "3001110003,\n".encode(),
    )
    result = do_not_contact_import(upload=upload, region="CO", by=operator)
    assert (result.counts.imported, result.counts.duplicates, result.counts.invalid) == (2, 2, 1)
    assert DoNotContact.objects.get(phone_e164="+573001110001").reason == "pidió no ser contactado"
    assert DoNotContact.objects.get(phone_e164="+573001110003").source == OptOutSource.IMPORT
    assert Debtor.objects.get(phone_e164="+573001110001").opted_out
    assert "already on the do-not-contact registry" in result.error_report
    assert "same phone as row 2" in result.error_report
