"""Shared by the SMS API views: the caller, and typed domain errors -> ``{"code": ..., "detail": ...}``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler

from sms.exceptions import SmsError, VerificationFailed, VerificationThrottled

ErrorSerializer = inline_serializer(
    "Error",
    fields={
        "code": serializers.CharField(help_text="Machine-readable reason, e.g. number_taken."),
        "detail": serializers.CharField(help_text="Human-readable explanation."),
        "retry_after": serializers.IntegerField(required=False, help_text="Seconds to wait (429 only)."),
        "attempts_remaining": serializers.IntegerField(required=False, help_text="Wrong codes left."),
    },
)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus a domain error as its status and ``{"code", "detail"}`` body, so views
    let typed errors propagate instead of catching them (``REST_FRAMEWORK["EXCEPTION_HANDLER"]``)."""
    if isinstance(exc, SmsError):
        return error_response(exc)
    return exception_handler(exc, context)


def error_response(error: SmsError) -> Response:
    data: dict[str, Any] = {"code": error.code, "detail": str(error)}
    headers: dict[str, str] = {}
    if isinstance(error, VerificationThrottled):
        data["retry_after"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, VerificationFailed) and error.attempts_remaining is not None:
        data["attempts_remaining"] = error.attempts_remaining
    return Response(data, status=error.status_code, headers=headers)


def authenticated_user(request: Request) -> AbstractBaseUser:
    """The caller; the views' IsAuthenticated permission guarantees one."""
    user = request.user
    assert isinstance(user, AbstractBaseUser) and user.is_authenticated
    return user
