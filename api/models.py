from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an `Idempotency-Key`, replayed to repeats.

    Written in the same transaction as the POST's own work: a request that failed half-way
    leaves neither its work nor this row, so its repeat runs again.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotent_requests"
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64, help_text=_("SHA-256 of method, path and body"))
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotentrequest_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"
