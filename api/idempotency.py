"""`Idempotency-Key` on POSTs: a repeat within 24 h gets the first answer, nothing runs again.

The key is scoped to the caller (a key's owner, or the signed-in user). The first request's
answer is stored in the same transaction as its work, under a lock on (user, key), so two
concurrent requests with one key run the work once. The same key with another body (or
another address) is refused with 422.
"""

import datetime
import functools
import hashlib
import struct
from collections.abc import Callable
from typing import Any, cast

from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.http import QueryDict
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from api.models import IdempotentRequest
from api.problems import Unprocessable

HEADER = "Idempotency-Key"
KEPT_FOR = datetime.timedelta(hours=24)
MAX_KEY_LENGTH = 255

View = Callable[..., Response]


def _digest(request: Request) -> str:
    sha = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    if request.content_type.startswith("multipart/"):
        data = cast(QueryDict, request.data)
        for name in sorted(data):
            for value in data.getlist(name):
                sha.update(name.encode() + b"\0")
                # A file is told from a text field of the same content, and by its name.
                if isinstance(value, UploadedFile):
                    sha.update(b"file\0" + (value.name or "").encode() + b"\0")
                    for chunk in value.chunks():
                        sha.update(chunk)
                    value.seek(0)
                else:
                    sha.update(b"text\0" + str(value).encode())
                sha.update(b"\0")
    else:
        sha.update(request.body)
    return sha.hexdigest()


def _lock(user_id: int, key: str) -> None:
    if connection.vendor != "postgresql":
        return  # SQLite (the demo) has one writer at a time
    digest = hashlib.sha256(f"{user_id}:{key}".encode()).digest()
    (lock_id,) = struct.unpack(">q", digest[:8])
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def idempotent(view: View) -> View:
    """Wrap a DRF function view's body (it runs after authentication)."""

    @functools.wraps(view)
    def wrapper(request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST":
            return view(request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            raise ValidationError({HEADER: [f"Give 1 to {MAX_KEY_LENGTH} characters."]})
        digest = _digest(request)
        user_id = cast(int, request.user.pk)
        with transaction.atomic():
            _lock(user_id, key)
            now = timezone.now()
            earlier = IdempotentRequest.objects.filter(user_id=user_id, key=key).first()
            if earlier is not None and earlier.created_at > now - KEPT_FOR:
                if earlier.request_hash != digest:
                    raise Unprocessable(
                        "This Idempotency-Key was used with another request: use a new key.",
                        code="idempotency_key_reused",
                    )
                replay = Response(earlier.response_body, status=earlier.response_status)
                replay["Idempotent-Replayed"] = "true"
                return replay
            if earlier is not None:
                earlier.delete()
            response = view(request, *args, **kwargs)
            IdempotentRequest.objects.create(
                user_id=user_id,
                key=key,
                request_hash=digest,
                response_status=response.status_code,
                response_body=response.data,
            )
            return response

    return wrapper


def idempotent_requests_forget() -> int:
    """Drop answers older than 24 h; returns how many."""
    deleted, _ = IdempotentRequest.objects.filter(
        created_at__lte=timezone.now() - KEPT_FOR
    ).delete()
    return deleted
