"""Deleting a user leaves no row, stored file or Redis key of theirs behind — whatever the path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django_redis import get_redis_connection
from knox.models import AuthToken

from sms.models import EnrichmentItem, InboundMessage, MediaAttachment, PhoneNumber, VerificationCodeSend
from sms.ratelimit import rate_limit_key, rate_limit_memo_cache
from sms.selectors import phone_number_status_get
from sms.senders import sender_get
from sms.services.accounts import user_delete
from sms.tests.factories import enrichment_item_create, inbound_message_create, phone_number_create, user_create
from smsgateway.tokens import api_token_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media_root(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path


@dataclass
class Account:
    user: Any
    user_id: int  # user.pk becomes None once deleted
    number: str
    files: list[Path]


def _account(number: str) -> Account:
    """A user with everything the service stores about them, caches and Redis keys included."""
    user = user_create()
    phone_number_create(user=user, number=number, verified=True)
    VerificationCodeSend.objects.create(user=user, number=number)
    api_token_create(user=user)
    files = []
    # Texted before linking: no user on the row, but it is theirs.
    early = inbound_message_create(from_number=number, body="before linking")
    message = inbound_message_create(user=user, from_number=number, num_media=1, body="Had lunch with Sarah")
    for msg, index in ((message, 0), (early, 0)):
        attachment = MediaAttachment(message=msg, index=index, url="https://api.twilio.com/x", size_bytes=3)
        attachment.file.save(f"card-{msg.pk}.jpg", ContentFile(b"jpg"), save=True)
        files.append(Path(attachment.file.path))
    media = MediaAttachment.objects.filter(message=message).get()
    enrichment_item_create(user=user, message=message)
    enrichment_item_create(user=user, message=message, media=media, kind="media", value="card.jpg", source="mms")
    # Caches and rate-limit state, as the webhook and the API leave them.
    assert sender_get(number=number) is not None
    assert phone_number_status_get(user_id=user.pk) is not None
    redis = get_redis_connection("default")
    redis.zadd(rate_limit_key(number), {"m1": 1.0})
    rate_limit_memo_cache().set(number, 1234567890)
    return Account(user=user, user_id=user.pk, number=number, files=files)


def _redis_keys() -> list[str]:
    return [key.decode() for key in get_redis_connection("default").scan_iter(count=1000)]


def _assert_nothing_left(account: Account) -> None:
    user_id = account.user_id
    assert not get_user_model().objects.filter(pk=user_id).exists()
    assert not PhoneNumber.objects.filter(number=account.number).exists()
    assert not PhoneNumber.objects.filter(user_id=user_id).exists()
    assert not InboundMessage.objects.filter(from_number=account.number).exists()
    assert not InboundMessage.objects.filter(user_id=user_id).exists()
    assert not MediaAttachment.objects.filter(message__from_number=account.number).exists()
    assert not EnrichmentItem.objects.filter(user_id=user_id).exists()
    assert not VerificationCodeSend.objects.filter(number=account.number).exists()
    assert not AuthToken.objects.filter(user_id=user_id).exists()
    for path in account.files:
        assert not path.exists(), path
    keys = _redis_keys()
    assert [k for k in keys if account.number in k] == []
    assert [k for k in keys if k.endswith(f"verification_status:{user_id}")] == []


def _assert_untouched(account: Account) -> None:
    assert PhoneNumber.objects.filter(user=account.user, number=account.number).exists()
    assert InboundMessage.objects.filter(from_number=account.number).count() == 2
    assert EnrichmentItem.objects.filter(user=account.user).count() == 2
    assert all(path.exists() for path in account.files)
    keys = _redis_keys()
    assert any(account.number in k for k in keys)
    assert any(k.endswith(f"verification_status:{account.user.pk}") for k in keys)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Any) -> Callable[[Callable[[], Any]], Any]:
    def _run(fn: Callable[[], Any]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return _run


def test_user_delete_leaves_no_row_file_or_redis_key(on_commit) -> None:
    gone = _account("+14155550111")
    kept = _account("+14155550222")
    assert len(_redis_keys()) >= 6
    on_commit(lambda: user_delete(user=gone.user))
    _assert_nothing_left(gone)
    _assert_untouched(kept)


def test_plain_user_delete_purges_the_same(on_commit) -> None:
    gone = _account("+14155550111")
    kept = _account("+14155550222")
    on_commit(gone.user.delete)
    _assert_nothing_left(gone)
    _assert_untouched(kept)


def test_queryset_delete_purges_the_same(on_commit) -> None:
    gone = [_account("+14155550111"), _account("+14155550333")]
    kept = _account("+14155550222")
    on_commit(lambda: get_user_model().objects.filter(pk__in=[a.user_id for a in gone]).delete())
    for account in gone:
        _assert_nothing_left(account)
    _assert_untouched(kept)


def _admin_client(client: Any) -> Any:
    admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pw-123")
    client.force_login(admin)  # the login form itself: smsgateway/tests/test_lockout.py
    return client


def test_admin_delete_view_purges_everything(client, on_commit) -> None:
    gone = _account("+14155550111")
    kept = _account("+14155550222")
    admin = _admin_client(client)
    response = on_commit(lambda: admin.post(f"/admin/auth/user/{gone.user_id}/delete/", {"post": "yes"}))
    assert response.status_code == 302
    _assert_nothing_left(gone)
    _assert_untouched(kept)


def test_admin_bulk_delete_action_purges_everything(client, on_commit) -> None:
    gone = [_account("+14155550111"), _account("+14155550333")]
    kept = _account("+14155550222")
    admin = _admin_client(client)
    response = on_commit(
        lambda: admin.post(
            "/admin/auth/user/",
            {"action": "delete_selected", "_selected_action": [a.user_id for a in gone], "post": "yes"},
        )
    )
    assert response.status_code == 302
    for account in gone:
        _assert_nothing_left(account)
    _assert_untouched(kept)


def test_deleting_a_user_without_sms_data_works(on_commit) -> None:
    user = user_create()
    user_id = user.pk
    on_commit(lambda: user_delete(user=user))
    assert not get_user_model().objects.filter(pk=user_id).exists()


def test_webhook_lookup_forgets_a_deleted_sender_at_once(on_commit) -> None:
    gone = _account("+14155550111")
    assert sender_get(number=gone.number) is not None  # cached as a verified sender
    on_commit(lambda: user_delete(user=gone.user))
    assert sender_get(number=gone.number) is None


def test_numbers_only_typed_by_the_user_keep_their_messages_and_window(on_commit) -> None:
    stranger = "+14155550999"
    gone = _account("+14155550111")
    VerificationCodeSend.objects.create(user=gone.user, number=stranger)  # a typo, once
    inbound_message_create(from_number=stranger, body="someone else")
    get_redis_connection("default").zadd(rate_limit_key(stranger), {"m1": 1.0})
    on_commit(lambda: user_delete(user=gone.user))
    _assert_nothing_left(gone)
    assert InboundMessage.objects.filter(from_number=stranger).count() == 1
    assert get_redis_connection("default").exists(rate_limit_key(stranger))
