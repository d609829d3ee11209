"""A view doing the webhook's database work: one indexed read and one write transaction."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from sms.models import InboundMessage, PhoneNumber

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def db_work(request: HttpRequest) -> HttpResponse:
    number = f"+1415555{uuid.uuid4().int % 1000:04d}"
    PhoneNumber.objects.filter(number=number).values_list("user_id", "is_verified", "opted_out_at").first()
    with transaction.atomic():
        InboundMessage.objects.create(message_sid="SM" + uuid.uuid4().hex, from_number=number, to_number="+15005550006")
    return HttpResponse(TWIML, content_type="text/xml")


urlpatterns = [path("bench/db", db_work), path("", include("smsgateway.urls"))]
