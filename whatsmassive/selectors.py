from django.db.models import Count, QuerySet

from whatsmassive.models import LogLevel, SystemLog


def system_log_list(*, min_level: int | None = None, search: str = "") -> QuerySet[SystemLog]:
    logs = SystemLog.objects.all()
    if min_level is not None:
        logs = logs.filter(level__gte=min_level)
    if search:
        logs = logs.filter(message__icontains=search)
    return logs


def system_log_recent_errors(*, limit: int = 10) -> QuerySet[SystemLog]:
    return system_log_list(min_level=LogLevel.ERROR)[:limit]


def count_by(queryset: QuerySet, field: str) -> dict[str, int]:  # type: ignore[type-arg]
    return dict(queryset.order_by().values_list(field).annotate(n=Count("id")))
