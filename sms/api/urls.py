"""The SMS routes: Twilio's webhook and status callback, phone linking and enrichment review.
Included at the root by ``smsgateway/urls.py`` (the paths are the documented ones)."""

from django.urls import path

from sms.api.linking import PhoneNumberApi, PhoneNumberVerifyApi
from sms.api.review import EnrichmentItemDetailApi, EnrichmentItemListApi
from sms.webhook.status_callback import sms_status_callback
from sms.webhook.views import sms_webhook

urlpatterns = [
    path("api/sms/webhook", sms_webhook, name="sms-webhook"),
    path("api/sms/status", sms_status_callback, name="sms-status-callback"),
    path("api/user/phone-number", PhoneNumberApi.as_view(), name="phone-number"),
    path("api/user/phone-number/verify", PhoneNumberVerifyApi.as_view(), name="phone-number-verify"),
    path("api/enrichment-items", EnrichmentItemListApi.as_view(), name="enrichment-items"),
    path("api/enrichment-items/<int:item_id>", EnrichmentItemDetailApi.as_view(), name="enrichment-item"),
]
