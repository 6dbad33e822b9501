from django.db import models


def choices_check(
    field: str, choices: type[models.Choices], *, name: str
) -> models.CheckConstraint:
    """A database CHECK that keeps `field` within `choices`, whoever writes the row."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)
