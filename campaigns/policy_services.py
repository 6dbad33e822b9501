"""Writes to contact policies: saving one an operator edited, and choosing the default."""

import logging

from django.db import transaction

from campaigns.models import ContactPolicy
from whatsmassive.roles import Actor, require

logger = logging.getLogger(__name__)

ADD = "campaigns.add_contactpolicy"
CHANGE = "campaigns.change_contactpolicy"


@transaction.atomic
def contact_policy_save(*, policy: ContactPolicy, by: Actor = None) -> ContactPolicy:
    """Create or change a policy (validated by the model's rules: windows, caps, opt-out).

    Campaigns already running follow the change from their next scope refresh: a policy
    says what may be sent now, not what was decided at start.
    """
    require(by, CHANGE if policy.pk else ADD)
    policy.full_clean(exclude=["is_default"])
    policy.save()
    logger.info(
        "Contact policy %s saved",
        policy.name,
        extra={"policy_id": policy.pk, "by": getattr(by, "username", None)},
    )
    return policy


@transaction.atomic
def contact_policy_make_default(*, policy: ContactPolicy, by: Actor = None) -> ContactPolicy:
    """New campaigns follow this policy unless they pick another; there is one default."""
    require(by, CHANGE)
    # The old default stops being one first: the partial unique index allows one at a time.
    ContactPolicy.objects.select_for_update().filter(is_default=True).exclude(pk=policy.pk).update(
        is_default=False
    )
    ContactPolicy.objects.filter(pk=policy.pk).update(is_default=True)
    policy.refresh_from_db()
    logger.info(
        "Contact policy %s is now the default",
        policy.name,
        extra={"policy_id": policy.pk, "by": getattr(by, "username", None)},
    )
    return policy
