"""``POST /api/auth/token``: username and password for an API token, behind the lockout."""

from __future__ import annotations

from typing import Any

from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.request import Request
from rest_framework.response import Response

from smsgateway.lockout import cool_off, is_locked_out


class AuthTokenCreateApi(ObtainAuthToken):
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data: Any = request.data
        username = str(data.get("username", "")) if hasattr(data, "get") else ""
        if is_locked_out(request._request, username):
            wait = int(cool_off(request._request).total_seconds())
            return Response(
                {"code": "locked_out", "detail": "Too many failed logins; try again later."},
                status=429,
                headers={"Retry-After": str(wait)},
            )
        return super().post(request, *args, **kwargs)
