"""Phone number API: show, link (and resend), unlink, verify. Thin: parse, call one service, map errors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from sms.api.common import ErrorSerializer, OperationApi, authenticated_user
from sms.exceptions import PhoneNumberNotLinked
from sms.selectors import PhoneNumberStatus, phone_number_status_get
from sms.services.linking import phone_number_link, phone_number_unlink, phone_number_verify


class PhoneNumberOutputSerializer(serializers.Serializer):
    phone_number = serializers.CharField(source="number", help_text="E.164")
    verified = serializers.BooleanField(source="is_verified")
    verified_at = serializers.DateTimeField(allow_null=True)
    code_expires_at = serializers.DateTimeField(allow_null=True, help_text="When the pending code expires.")
    last_sent_at = serializers.DateTimeField(allow_null=True, help_text="When the last code was requested.")
    last_send_status = serializers.CharField(
        help_text=(
            "pending, sent, delivered, undelivered (from Twilio's delivery receipt), failed or opted_out "
            "('' before any send)."
        )
    )
    last_send_error = serializers.CharField(help_text="Why the last send failed, e.g. invalid_number_21211.")
    opted_out = serializers.BooleanField(source="is_opted_out", help_text="The number replied STOP.")


def _status_response(user_id: int, http_status: int = status.HTTP_200_OK) -> Response:
    current: PhoneNumberStatus | None = phone_number_status_get(user_id=user_id)
    if current is None:
        raise PhoneNumberNotLinked()
    return Response(PhoneNumberOutputSerializer(current).data, status=http_status)


class PhoneNumberDetailApi(OperationApi):
    """Your phone number and its verification status."""

    @extend_schema(
        operation_id="phone_number_get",
        responses={200: PhoneNumberOutputSerializer, 404: ErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        return _status_response(authenticated_user(request).pk)


class PhoneNumberLinkApi(OperationApi):
    """Link your phone number: a code is texted to it."""

    class InputSerializer(serializers.Serializer):
        phone_number = serializers.CharField(
            max_length=40, help_text="With country code (+44...) or in SMS_DEFAULT_REGION's format."
        )

        class Meta:
            ref_name = "PhoneNumberLinkInput"

    @extend_schema(
        operation_id="phone_number_link",
        request=InputSerializer,
        responses={
            201: PhoneNumberOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid_phone_number, service_number"),
            409: OpenApiResponse(
                ErrorSerializer,
                description="number_taken, number_claimed, already_linked, already_verified, number_opted_out",
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="resend_cooldown, number_hourly_cap, user_daily_cap (with Retry-After)",
            ),
        },
        description="Link a number, or ask for a new code for the pending one. The code is texted after commit.",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        phone_number_link(user=authenticated_user(request), number=data.validated_data["phone_number"])
        return _status_response(authenticated_user(request).pk, status.HTTP_201_CREATED)


class PhoneNumberUnlinkApi(OperationApi):
    """Unlink your phone number: texts from it are then from an unknown sender."""

    @extend_schema(operation_id="phone_number_unlink", responses={204: None, 404: ErrorSerializer})
    def delete(self, request: Request) -> Response:
        phone_number_unlink(user=authenticated_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhoneNumberVerifyApi(OperationApi):
    """Prove you own the number: send back the 6-digit code we texted."""

    class InputSerializer(serializers.Serializer):
        code = serializers.RegexField(r"^\s*\d{6}\s*$", help_text="The 6 digits we texted.")

        class Meta:
            ref_name = "PhoneNumberVerifyInput"

    @extend_schema(
        operation_id="phone_number_verify",
        request=InputSerializer,
        responses={
            200: PhoneNumberOutputSerializer,
            400: OpenApiResponse(ErrorSerializer, description="code_invalid, code_expired, code_voided"),
            404: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        phone_number_verify(user=authenticated_user(request), code=data.validated_data["code"].strip())
        return _status_response(authenticated_user(request).pk)
