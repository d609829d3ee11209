"""The SMS routes: Twilio's webhook and status callback, phone linking and enrichment review.
Included at the root by ``smsgateway/urls.py`` (the paths are the documented ones). A path with
several operations dispatches by method to one class each (``MethodDispatcher``)."""

from django.urls import path

from sms.api.common import MethodDispatcher
from sms.api.linking import PhoneNumberDetailApi, PhoneNumberLinkApi, PhoneNumberUnlinkApi, PhoneNumberVerifyApi
from sms.api.review import EnrichmentItemDetailApi, EnrichmentItemListApi, EnrichmentItemUpdateApi
from sms.webhook.status_callback import sms_status_callback
from sms.webhook.views import sms_webhook

urlpatterns = [
    path("api/sms/webhook", sms_webhook, name="sms-webhook"),
    path("api/sms/status", sms_status_callback, name="sms-status-callback"),
    path(
        "api/user/phone-number",
        MethodDispatcher(PhoneNumberDetailApi, PhoneNumberLinkApi, PhoneNumberUnlinkApi),
        name="phone-number",
    ),
    path("api/user/phone-number/verify", PhoneNumberVerifyApi.as_view(), name="phone-number-verify"),
    path("api/enrichment-items", EnrichmentItemListApi.as_view(), name="enrichment-items"),
    path(
        "api/enrichment-items/<int:item_id>",
        MethodDispatcher(EnrichmentItemDetailApi, EnrichmentItemUpdateApi),
        name="enrichment-item",
    ),
]
