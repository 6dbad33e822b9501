"""Writes about pools and their members: order, enabled flag, weight, hand-over."""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.engine import NobodyLeft, messages_hand_over
from sessions_app.models import Pool, PoolMember, PoolStrategy, WhatsAppSession
from whatsmassive.roles import Actor, require

logger = logging.getLogger(__name__)

MANAGE = "sessions_app.manage_pools"


def _pool_clean(*, name: str, strategy: str, pool: Pool | None = None) -> str:
    name = name.strip()
    errors: dict[str, str] = {}
    others = Pool.objects.exclude(pk=pool.pk) if pool else Pool.objects.all()
    if not name:
        errors["name"] = _("Give the pool a name.")
    elif others.filter(name__iexact=name).exists():
        errors["name"] = _("A pool named “%(name)s” already exists.") % {"name": name}
    if strategy not in PoolStrategy.values:
        errors["strategy"] = _("Choose how the pool shares out messages.")
    if errors:
        raise ValidationError(errors)
    return name


@transaction.atomic
def pool_create(*, name: str, strategy: str, description: str = "", by: Actor = None) -> Pool:
    require(by, MANAGE)
    name = _pool_clean(name=name, strategy=strategy)
    pool = Pool.objects.create(name=name, strategy=strategy, description=description.strip())
    logger.info("Pool %s created", name)
    return pool


@transaction.atomic
def pool_update(
    *, pool: Pool, name: str, strategy: str, description: str, by: Actor = None
) -> Pool:
    require(by, MANAGE)
    pool.name = _pool_clean(name=name, strategy=strategy, pool=pool)
    pool.strategy = strategy
    pool.description = description.strip()
    pool.save(update_fields=["name", "strategy", "description"])
    logger.info("Pool %s changed", pool.name)
    return pool


@transaction.atomic
def pool_delete(*, pool: Pool, by: Actor = None) -> None:
    require(by, MANAGE)
    used_by = pool.campaigns.count()
    if used_by:
        raise ValidationError(
            ngettext(
                "%(count)s campaign uses this pool: it cannot be deleted. "
                "Create a new pool instead, or change that campaign first.",
                "%(count)s campaigns use this pool: it cannot be deleted. "
                "Create a new pool instead, or change those campaigns first.",
                used_by,
            )
            % {"count": used_by}
        )
    pool.delete()
    logger.info("Pool %s deleted", pool.name)


def _pool_members_locked(pool: Pool) -> list[PoolMember]:
    """The pool's members in order; locking the pool row serialises edits of its members."""
    Pool.objects.select_for_update().filter(pk=pool.pk).first()
    return list(pool.members.select_related("session").order_by("position", "id"))


def _renumber(members: list[PoolMember]) -> None:
    """Positions stay 0..n-1 in list order."""
    changed = []
    for position, member in enumerate(members):
        if member.position != position:
            member.position = position
            changed.append(member)
    PoolMember.objects.bulk_update(changed, ["position"])


def _check_weight(weight: int) -> None:
    if weight < 1:
        raise ValidationError({"weight": _("The weight must be 1 or more.")})


@transaction.atomic
def pool_member_add(
    *,
    pool: Pool,
    session: WhatsAppSession,
    enabled: bool = True,
    weight: int = 1,
    by: Actor = None,
) -> PoolMember:
    require(by, MANAGE)
    members = _pool_members_locked(pool)
    if any(member.session_id == session.pk for member in members):
        raise ValidationError(
            {"session": _("%(name)s is already in this pool.") % {"name": session.name}}
        )
    _check_weight(weight)
    member = PoolMember.objects.create(
        pool=pool, session=session, position=len(members), enabled=enabled, weight=weight
    )
    logger.info("Account %s added to pool %s", session.name, pool.name)
    return member


@transaction.atomic
def pool_member_update(
    *, member: PoolMember, enabled: bool, weight: int, by: Actor = None
) -> PoolMember:
    require(by, MANAGE)
    _check_weight(weight)
    members = _pool_members_locked(member.pool)
    was_enabled = any(each.pk == member.pk and each.enabled for each in members)
    PoolMember.objects.filter(pk=member.pk).update(enabled=enabled, weight=weight)
    if was_enabled and not enabled:
        messages_hand_over(session=member.session, pool=member.pool, nobody_left=NobodyLeft.RELEASE)
    member.refresh_from_db()
    return member


@transaction.atomic
def pool_member_move(*, member: PoolMember, position: int, by: Actor = None) -> None:
    """Put the member at `position` (clamped to the pool), shifting the others."""
    require(by, MANAGE)
    members = _pool_members_locked(member.pool)
    moving = next((each for each in members if each.pk == member.pk), None)
    if moving is None:
        raise ValidationError(_("This account is no longer in the pool."))
    members.remove(moving)
    members.insert(max(0, min(position, len(members))), moving)
    _renumber(members)


@transaction.atomic
def pool_member_remove(*, member: PoolMember, by: Actor = None) -> None:
    require(by, MANAGE)
    members = _pool_members_locked(member.pool)
    PoolMember.objects.filter(pk=member.pk).delete()
    messages_hand_over(session=member.session, pool=member.pool, nobody_left=NobodyLeft.RELEASE)
    _renumber([each for each in members if each.pk != member.pk])
    logger.info("Account %s removed from pool %s", member.session, member.pool)
