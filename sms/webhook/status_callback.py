"""POST /api/sms/status: Twilio's status callback for the texts we send (delivery receipts,
docs/ARCHITECTURE.md). Signed and checked exactly like the messaging webhook, over
``SMS_STATUS_CALLBACK_URL``; thin: read, verify, call ``outbound_status_record``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from performance import metrics
from sms.services.outbound import outbound_status_record
from sms.webhook.payload import WebhookPayloadError
from sms.webhook.signature import SignatureError, signature_refusal_record, signature_verify
from sms.webhook.views import OUTCOME_HEADER, _read_form

logger = logging.getLogger(__name__)

MAX_SID = 64


def _answer(status: int, outcome: str, text: str = "") -> HttpResponse:
    response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    response[OUTCOME_HEADER] = outcome
    return response


@csrf_exempt
@require_POST
def sms_status_callback(request: HttpRequest) -> HttpResponse:
    try:
        params = _read_form(request)
    except WebhookPayloadError as exc:
        metrics.STATUS_CALLBACKS.labels("invalid").inc()
        return _answer(exc.status_code, "invalid", str(exc))
    if params is None:
        metrics.STATUS_CALLBACKS.labels("invalid").inc()
        return _answer(413, "too_large", "request body too large")
    try:
        signature_verify(request, params, public_url=settings.SMS_STATUS_CALLBACK_URL)
    except SignatureError as exc:
        signature_refusal_record(exc, request, what="status callback", number_field="to", number=params.get("To"))
        return _answer(exc.status_code, "forbidden", "forbidden")
    sid = (params.get("MessageSid") or params.get("SmsSid") or "").strip()
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip()
    if not sid or not status or len(sid) > MAX_SID or len(status) > 16 or "\x00" in sid + status:
        metrics.STATUS_CALLBACKS.labels("invalid").inc()
        return _answer(400, "invalid", "MessageSid and MessageStatus are required")
    try:
        result = outbound_status_record(message_sid=sid, status=status, error_code=params.get("ErrorCode") or "")
    except DatabaseError:
        # A receipt is not worth spooling: the row keeps its last status (docs/ARCHITECTURE.md).
        metrics.STATUS_CALLBACKS.labels("unavailable").inc()
        logger.warning("status callback for %s (%s) not recorded: database unavailable", sid, status, exc_info=True)
        response = _answer(503, "unavailable", "temporarily unavailable")
        response["Retry-After"] = "5"
        return response
    # 200 for every signed callback, an unknown SID too: another answer would only make Twilio retry.
    return _answer(200, result.value)
