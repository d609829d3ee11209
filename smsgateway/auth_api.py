"""``POST /api/auth/token``: username and password for an expiring API token, behind the lockout."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from knox.settings import knox_settings
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smsgateway.lockout import cool_off, is_locked_out
from smsgateway.tokens import api_token_create


class AuthTokenCreateApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    InputSerializer = AuthTokenSerializer

    class OutputSerializer(serializers.Serializer):
        token = serializers.CharField()
        expires_in = serializers.IntegerField(help_text="seconds; each use extends it (up to 30 days)")

    @extend_schema(request=AuthTokenSerializer, responses={200: OutputSerializer}, summary="Get an API token")
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
        serializer = self.InputSerializer(data=data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token = api_token_create(user=serializer.validated_data["user"])
        ttl = int(knox_settings.TOKEN_TTL.total_seconds()) if knox_settings.TOKEN_TTL else 0
        return Response(self.OutputSerializer({"token": token, "expires_in": ttl}).data)
