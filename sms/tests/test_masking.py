import pytest

from sms.masking import mask_phone


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+14155550123", "***0123"), ("+447700900123", "***0123"), ("", "***"), (None, "***"), ("1234", "***")],
)
def test_mask_phone_keeps_only_last_four_digits(number: str | None, masked: str) -> None:
    assert mask_phone(number) == masked
