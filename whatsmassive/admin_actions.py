"""Admin actions that call a service once per selected object."""

from collections.abc import Callable, Iterable

from django.contrib import admin, messages
from django.db.models import Model
from django.http import HttpRequest

from whatsmassive.roles import require


def apply_to_each[M: Model](
    model_admin: admin.ModelAdmin[M],
    request: HttpRequest,
    objects: Iterable[M],
    act: Callable[[M], object],
    *,
    perm: str,
    refusals: tuple[type[Exception], ...],
    done: str,
) -> None:
    """Run `act` on each object; refusals are reported one by one, successes counted.

    `done` is the success message with `{}` for the count, e.g. "{} campaign(s) paused.".
    The user must hold `perm` (the services check it again): a refusal changes nothing.
    """
    require(request.user, perm)
    count = 0
    for obj in objects:
        try:
            act(obj)
        except refusals as exc:
            model_admin.message_user(request, f"{obj}: {exc}", messages.WARNING)
        else:
            count += 1
    if count:
        model_admin.message_user(request, done.format(count), messages.SUCCESS)
