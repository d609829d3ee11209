"""The tasks keep the names they were registered under before they were renamed: a task already
waiting in a broker queue names its task by that string."""

from __future__ import annotations

from typing import Any

import pytest

from sms.tasks import (
    inbound_message_process_task,
    media_cleanup_task,
    sms_reply_send_task,
    verification_code_send_task,
)
from smsgateway.celery import app


@pytest.mark.parametrize(
    ("task", "registered_name"),
    [
        (inbound_message_process_task, "sms.tasks.process_inbound_message"),
        (verification_code_send_task, "sms.tasks.phone_number_verification_send"),
        (sms_reply_send_task, "sms.tasks.sms_reply_send"),
        (media_cleanup_task, "sms.tasks.cleanup_media"),
    ],
)
def test_a_queued_task_of_the_old_name_runs_the_renamed_task(task: Any, registered_name: str) -> None:
    assert task.name == registered_name
    assert app.tasks[registered_name].run == task.run
