"""The app's URLs plus bench-only views (never in the app's urls):

- /bench/twiml: the cheapest TwiML answer the same server can give (webhook bench ceiling);
- /bench/db: the webhook's database work alone, one indexed read and one write transaction
  (connection-handling bench, bench/db_connections.py).
"""

import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sms.models import InboundMessage, PhoneNumber
from sms.webhook.twiml import EMPTY
from smsgateway.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare_twiml(request: HttpRequest) -> HttpResponse:
    return HttpResponse(EMPTY, content_type="text/xml; charset=utf-8")


def db_work(request: HttpRequest) -> HttpResponse:
    number = f"+1415555{uuid.uuid4().int % 1000:04d}"
    PhoneNumber.objects.filter(number=number).values_list("user_id", "is_verified", "opted_out_at").first()
    with transaction.atomic():
        InboundMessage.objects.create(message_sid="SM" + uuid.uuid4().hex, from_number=number, to_number="+15005550006")
    return HttpResponse(EMPTY, content_type="text/xml; charset=utf-8")


urlpatterns = [path("bench/twiml", bare_twiml), path("bench/db", db_work), *app_urlpatterns]
