"""POST /api/sms/webhook: Twilio's messaging webhook (docs/ARCHITECTURE.md). Thin: read, verify, parse,
call the intake service, answer TwiML with an X-SMS-Outcome header."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.db import DatabaseError, DataError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from performance import metrics
from sms.masking import mask_phone
from sms.services.intake import IntakeUnavailable, inbound_message_receive
from sms.webhook.payload import MAX_LENGTHS, TwilioForm, WebhookPayloadError, form_parse, inbound_sms_parse
from sms.webhook.signature import SignatureError, messaging_service_verify, signature_refusal_record, signature_verify
from sms.webhook.twiml import twiml_message
from smsgateway.logs import log_context

logger = logging.getLogger(__name__)

OUTCOME_HEADER = "X-SMS-Outcome"


def _plain(status: int, outcome: str, text: str, started: float) -> HttpResponse:
    response = HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")
    response[OUTCOME_HEADER] = outcome
    metrics.WEBHOOK_OUTCOMES.labels(outcome).inc()
    metrics.WEBHOOK_LATENCY.labels(outcome).observe(time.perf_counter() - started)
    return response


def _read_form(request: HttpRequest) -> TwilioForm | None:
    """The form parameters, or None when the body is larger than SMS_WEBHOOK_MAX_BODY_BYTES.

    Parsed straight into a MultiValueDict (what QueryDict is, without its mutability and
    per-value re-encoding), measured faster (docs/PERFORMANCE.md)."""
    limit = settings.SMS_WEBHOOK_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    if len(body) > limit:
        return None
    return form_parse(body, max_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)


@csrf_exempt
@require_POST
def sms_webhook(request: HttpRequest) -> HttpResponse:
    started = time.perf_counter()
    try:
        params = _read_form(request)
    except WebhookPayloadError as exc:
        metrics.WEBHOOK_REJECTED.labels(exc.code).inc()
        return _plain(exc.status_code, "invalid", str(exc), started)
    if params is None:
        metrics.WEBHOOK_REJECTED.labels("too_large").inc()
        return _plain(413, "too_large", "request body too large", started)
    # Every line logged for this delivery names it (smsgateway/logs.py); capped like the column.
    with log_context(message_sid=(params.get("MessageSid") or "")[: MAX_LENGTHS["MessageSid"]] or None):
        return _receive(request, params, started)


def _receive(request: HttpRequest, params: TwilioForm, started: float) -> HttpResponse:
    try:
        signature_verify(request, params)
        messaging_service_verify(params)
    except SignatureError as exc:
        signature_refusal_record(exc, request, what="webhook", number_field="from", number=params.get("From"))
        return _plain(exc.status_code, "forbidden", "forbidden", started)

    try:
        sms = inbound_sms_parse(params)
    except WebhookPayloadError as exc:
        metrics.WEBHOOK_REJECTED.labels(exc.code).inc()
        logger.warning("webhook payload refused (%s) from %s", exc.code, mask_phone(params.get("From")))
        return _plain(exc.status_code, "invalid", str(exc), started)

    try:
        result = inbound_message_receive(sms=sms)
    except IntakeUnavailable:
        # Neither PostgreSQL nor the Redis spool took it, so nothing is acknowledged: a 5xx makes
        # Twilio use the fallback URL (docs/DEPLOYMENT.md), where a 200 would lose the message.
        metrics.WEBHOOK_REJECTED.labels("unavailable").inc()
        response = _plain(503, "unavailable", "temporarily unavailable, retry later", started)
        response["Retry-After"] = "5"
        return response
    except DataError:
        # The parser lets through only what the columns hold, so this is a value it did not
        # foresee: bad input, answered 400 like the rest, never reported as an outage.
        metrics.WEBHOOK_REJECTED.labels("refused_data").inc()
        logger.warning(
            "webhook: message %s from %s refused by the database (bad data)",
            sms.message_sid,
            mask_phone(sms.from_number),
            exc_info=True,
        )
        return _plain(400, "invalid", "message refused: a value cannot be stored", started)
    except DatabaseError:
        # Not an outage (those are spooled) nor bad data: a database-side fault. Nothing was stored.
        metrics.WEBHOOK_REJECTED.labels("database_error").inc()
        logger.exception(
            "webhook: message %s from %s refused by the database", sms.message_sid, mask_phone(sms.from_number)
        )
        response = _plain(503, "unavailable", "temporarily unavailable, retry later", started)
        response["Retry-After"] = "5"
        return response
    response = HttpResponse(twiml_message(result.reply), content_type="text/xml; charset=utf-8")
    response[OUTCOME_HEADER] = result.outcome.value
    metrics.WEBHOOK_OUTCOMES.labels(result.outcome.value).inc()
    metrics.WEBHOOK_LATENCY.labels(result.outcome.value).observe(time.perf_counter() - started)
    return response
