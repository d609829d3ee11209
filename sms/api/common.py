"""Shared by the SMS API views: one operation per class and the dispatcher that puts several on one
path, the caller, and typed domain errors -> ``{"code": ..., "detail": ...}``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler

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


class OperationApi(APIView):
    """An API class that handles one operation: a single handler (``get``, ``post``, ``patch``…).

    ``MethodDispatcher`` puts several on one path. It tells each the methods the whole path answers
    (``path_methods``), so the ``Allow`` header every response carries and the forms of the
    browsable API stay those of the path, not of the one class that answered.
    """

    path_methods: Sequence[str] = ()

    @classmethod
    def operation_method(cls) -> str:
        """The one HTTP method (lower case) this class handles."""
        handlers = [name for name in cls.http_method_names if name not in ("head", "options") and hasattr(cls, name)]
        if len(handlers) != 1:
            raise ImproperlyConfigured(
                f"{cls.__name__} handles {handlers or 'no method'}; an operation API handles one"
            )
        return handlers[0]

    @property
    def allowed_methods(self) -> list[str]:
        return list(self.path_methods) or super().allowed_methods


class MethodDispatcher:
    """The view of a path several operation APIs share: each request goes to the one of its method
    (HEAD to the GET one). The first answers OPTIONS and any other method, which it refuses with
    405 after the same authentication and permission checks; every answer's ``Allow`` lists the
    path's methods. Each operation keeps DRF's own CSRF check (``SessionAuthentication``), so the
    dispatcher is exempt from Django's as a DRF view is. drf-spectacular documents each operation
    from its own class (``method_dispatchers_expand``)."""

    csrf_exempt = True
    login_required = False  # as DRF's views: their permission classes decide

    def __init__(self, *operations: type[OperationApi]) -> None:
        apis = {api.operation_method(): api for api in operations}
        if not apis or len(apis) != len(operations):
            raise ImproperlyConfigured(f"a path takes one operation API per method, not {operations}")
        answered = {*apis, "options"} | ({"head"} if "get" in apis else set())
        path_methods = [name.upper() for name in APIView.http_method_names if name in answered]
        self.operations: dict[str, Callable[..., HttpResponseBase]] = {
            method.upper(): api.as_view(path_methods=path_methods) for method, api in apis.items()
        }
        self.routes = dict(self.operations)
        if "GET" in self.routes:
            self.routes["HEAD"] = self.routes["GET"]
        self.fallback = next(iter(self.operations.values()))
        # What DRF's breadcrumbs and schema generator read off a view: its class and arguments.
        self.cls = operations[0]
        self.initkwargs = {"path_methods": path_methods}

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return self.routes.get(request.method or "", self.fallback)(request, *args, **kwargs)


Endpoint = tuple[str, str, str, Any]


def method_dispatchers_expand(endpoints: list[Endpoint], **kwargs: Any) -> list[Endpoint]:
    """drf-spectacular ``PREPROCESSING_HOOKS``: a path a ``MethodDispatcher`` serves lists every
    operation, each documented by its own class (the generator sees only the dispatcher's first)."""
    expanded: list[Endpoint] = []
    for path, path_regex, method, callback in endpoints:
        if isinstance(callback, MethodDispatcher):
            expanded.extend((path, path_regex, m, view) for m, view in callback.operations.items())
        else:
            expanded.append((path, path_regex, method, callback))
    return expanded
