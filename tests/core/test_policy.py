"""TTL clamping and parsing, content and passphrase rules, words for durations, masking."""

import pytest

from onetime.core.errors import InvalidInput
from onetime.core.plans import DEFAULT_PLANS, Plan, Plans
from onetime.core.policy import DAY, Limits, mask_email, natural_duration, parse_flag, parse_ttl

PLANS = Plans({plan.name: plan for plan in DEFAULT_PLANS})


@pytest.mark.parametrize(
    ("requested", "account", "expected"),
    [
        (None, False, 7 * DAY),
        (1, False, 60),
        (-5, False, 60),
        (3600, False, 3600),
        (30 * DAY, False, 7 * DAY),
        (30 * DAY, True, 14 * DAY),
        (10**12, True, 14 * DAY),
    ],
)
def test_ttl_is_clamped_silently(requested: int | None, account: bool, expected: int) -> None:
    plan = PLANS.get("free" if account else None)
    assert Limits().clamp_ttl(requested, plan) == expected


def test_the_hard_cap_wins_over_plan_maximums() -> None:
    assert Limits(ttl_cap=DAY).clamp_ttl(7 * DAY, PLANS.get("paid")) == DAY
    assert Limits().clamp_ttl(60 * DAY, PLANS.get("paid")) == 30 * DAY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3600", 3600),
        (3600, 3600),
        (60.0, 60),
        ("", None),
        (None, None),
        (" 120 ", 120),
        ("-1", -1),
    ],
)
def test_ttl_parses_numbers_and_digit_strings(value: object, expected: int | None) -> None:
    assert parse_ttl(value) == expected


@pytest.mark.parametrize("value", ["abc", "1e3", "12.5", True, [1], {"a": 1}, 1.5, "٣"])
def test_ttl_that_is_not_a_number_is_an_error_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_ttl(value)
    assert caught.value.field == "ttl"


def test_content_rules() -> None:
    plan = Plan("tiny", DAY, secret_max_bytes=10)
    assert Limits.check_content("é" * 5, plan) == "é".encode() * 5
    for bad in ("", "   \n"):
        with pytest.raises(InvalidInput):
            Limits.check_content(bad, plan)
    with pytest.raises(InvalidInput, match="11 bytes"):
        Limits.check_content("é" * 5 + "x", plan)


def test_passphrase_rules() -> None:
    limits = Limits()
    assert limits.check_passphrase("") is None
    assert limits.check_passphrase("abcd") == "abcd"
    for bad in ("abc", "x" * 129):
        with pytest.raises(InvalidInput):
            limits.check_passphrase(bad)
    with pytest.raises(InvalidInput):
        Limits(passphrase_required=True).check_passphrase(None)


def test_durations_read_naturally() -> None:
    assert natural_duration(3600) == "1 hour"
    assert natural_duration(7 * DAY) == "7 days"
    assert natural_duration(90) == "2 minutes"
    assert natural_duration(1) == "1 second"


def test_flags_and_masks() -> None:
    assert parse_flag("true")
    assert parse_flag(True)
    assert parse_flag("1")
    assert not parse_flag("false")
    assert not parse_flag(None)
    assert mask_email("alice@example.com") == "al***@e***.com"
