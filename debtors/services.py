import logging

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from debtors.models import Debtor

logger = logging.getLogger(__name__)


@transaction.atomic
def debtor_opt_out(*, debtors: QuerySet[Debtor]) -> int:
    """Mark debtors as opted out; the engine skips their pending messages at send time.

    Returns how many debtors changed (those already opted out are left as they were).
    """
    changed = debtors.filter(opted_out=False).update(
        opted_out=True, opted_out_at=timezone.now(), updated_at=timezone.now()
    )
    logger.info("%d debtor(s) opted out", changed)
    return changed
