"""The app's URLs plus /bench/twiml: the cheapest TwiML answer the same server can give."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from sms.twiml import EMPTY
from smsgateway.urls import urlpatterns as app_urlpatterns


@csrf_exempt
def bare_twiml(request: HttpRequest) -> HttpResponse:
    return HttpResponse(EMPTY, content_type="text/xml; charset=utf-8")


urlpatterns = [path("bench/twiml", bare_twiml), *app_urlpatterns]
