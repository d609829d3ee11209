"""The resend caps and the claim rule hold across gunicorn worker processes."""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from typing import Any

import pytest
import requests

from devkit.fakes.twilio import FakeTwilio
from sms.models import PhoneNumber, VerificationCodeSend
from sms.tests.factories import user_create
from smsgateway.tokens import api_token_create
from tests.live import Gunicorn

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

NUMBER = "+14155550123"


def _race(server: Gunicorn, tokens: list[str], numbers: list[str]) -> Counter[tuple[int, Any]]:
    barrier = threading.Barrier(len(tokens))
    results: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def run(token: str, number: str) -> None:
        session = requests.Session()
        barrier.wait()
        response = session.post(
            server.url + "/api/user/phone-number",
            json={"phone_number": number},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        with lock:
            results.append((response.status_code, response.json().get("code")))

    threads = [threading.Thread(target=run, args=args) for args in zip(tokens, numbers, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return Counter(results)


def test_caps_and_claims_hold_across_worker_processes(fake_twilio: FakeTwilio) -> None:
    claimants = [api_token_create(user=user_create()) for _ in range(6)]
    resender = api_token_create(user=user_create())
    with Gunicorn(workers=3, TWILIO_API_BASE_URL=fake_twilio.url, SMS_VERIFICATION_RESEND_COOLDOWN="0") as server:
        # Six users claim the same new number at once: one wins, nobody gets a 500.
        claims = _race(server, claimants, [NUMBER] * 6)
        assert claims == {(201, None): 1, (409, "number_claimed"): 5}, claims
        # One user asks for eight codes for another number at once: the hourly cap holds.
        other = "+14155550456"
        resends = _race(server, [resender] * 8, [other] * 8)
        assert resends == {(201, None): 5, (429, "number_hourly_cap"): 3}, (resends, server.output())
        # Workers that served requests left metric files named after their pid.
        pids = {m.group(1) for f in os.listdir(server.metrics_dir) if (m := re.search(r"_(\d+)\.db$", f))}
        assert len(pids) >= 2, pids
    assert PhoneNumber.objects.filter(number=NUMBER).count() == 1
    assert VerificationCodeSend.objects.filter(number=other).count() == 5
