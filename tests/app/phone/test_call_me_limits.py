"""What a join link may make duet ring (issue 10: "call me" rang any number the link holder typed).

The probes of the security review, against a real server and the Twilio stand-in: by default only
the number given at room creation is called; where typed numbers are allowed, only landlines and
mobiles in the deployment's countries; a daily ceiling for the whole deployment; a time limit on
every call; and whoever answers hears a first name only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import RunningServer
from fallback_clients import call
from pydantic import ValidationError
from twilio_stand_in import ACCOUNT_SID, FakeTwilio, TwilioSide, says, twilio_settings
from wsclient import split_join_url

from app.config import Settings
from app.phone.call_me import DAY, DailyCalls
from app.phone.numbers import TypedNumber, country_of, is_e164, judge_typed

ANA_PHONE, US_MOBILE, UK_LANDLINE = "+14155550123", "+14155550199", "+442079460999"
PROBES = {
    "international networks (+882)": "+88213012345",
    "no such country (+999)": "+999123456789",
    "Antigua, inside +1 (+1268)": "+12684641234",
    "a trailing newline": "+14155550199\n",
    "US premium rate (+1900)": "+19005551234",
    "a country not allowed (France)": "+33612345678",
}


def token(room: dict[str, Any], role: str) -> str:
    return split_join_url(room["join_urls"][role])[1]


async def call_me(server: RunningServer, room: dict[str, Any], role: str, **body: Any) -> Any:
    async with server.client() as api:
        return await api.post(f"/s/{room['id']}/call-me", json={"token": token(room, role), **body})


async def preview(server: RunningServer, room: dict[str, Any], role: str) -> Any:
    async with server.client() as api:
        response = await api.post(f"/s/{room['id']}/preview", json={"token": token(room, role)})
    return response.json()["call_me"]


# --- the numbers, pure ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "verdict"),
    [
        ("+14155550199", TypedNumber.CALLABLE),
        ("+442079460999", TypedNumber.CALLABLE),
        ("+88213012345", TypedNumber.NO_SUCH_NUMBER),
        ("+999123456789", TypedNumber.NO_SUCH_NUMBER),
        ("+14155550199\n", TypedNumber.NO_SUCH_NUMBER),
        ("+12684641234", TypedNumber.OTHER_COUNTRY),  # Antigua: +1, but not the United States
        ("+12685551234", TypedNumber.NO_SUCH_NUMBER),  # not a number Antigua gives out
        ("+33612345678", TypedNumber.OTHER_COUNTRY),
        ("+19005551234", TypedNumber.NOT_A_PHONE),
        ("+447020123456", TypedNumber.NOT_A_PHONE),  # UK "personal numbers" (070), a known fraud range
    ],
)
def test_judge_typed(number: str, verdict: TypedNumber) -> None:
    assert judge_typed(number, frozenset({"US", "GB"})) is verdict


def test_e164_is_matched_whole() -> None:
    assert is_e164("+14155550123") and not is_e164("+14155550123\n") and not is_e164(" +14155550123")
    assert (country_of("+12684641234"), country_of("+14155550123"), country_of("+999123456789")) == (
        "AG",
        "US",
        None,
    )


def test_the_daily_count_says_when_a_call_is_free_again() -> None:
    now = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
    daily = DailyCalls(limit=3, db=None, events=None, clock=lambda: now)  # type: ignore[arg-type]
    daily.check((2, now - timedelta(hours=1)), in_flight=0)
    with pytest.raises(Exception, match="placed its 3 calls for today") as refused:
        daily.check((3, now - timedelta(hours=20)), in_flight=0)
    assert refused.value.headers == {"Retry-After": str(4 * 3600)}  # type: ignore[attr-defined]
    with pytest.raises(Exception, match="placed its 3 calls"):
        daily.check((2, now - timedelta(hours=1)), in_flight=1)  # one being placed right now counts
    assert DAY == timedelta(hours=24)


# --- a deployment as installed: only the number given at room creation ---------------------------


@pytest.fixture
def server_settings(request: pytest.FixtureRequest, fake_twilio: FakeTwilio) -> dict[str, Any]:
    """Twilio (the stand-in) with the defaults, or with what the test parametrizes (``indirect``)."""
    return twilio_settings(fake_twilio, phone_call_me_per_room=20, **getattr(request, "param", {}))


async def test_by_default_only_the_number_on_file_is_called(
    server: RunningServer, fake_twilio: FakeTwilio
) -> None:
    async with call(server, host={"name": "Ana", "phone": ANA_PHONE}, guest={"name": "Ben"}) as (room, *_):
        assert await preview(server, room, "host") == {"phone": "+*********23", "typed": False}
        assert await preview(server, room, "guest") is None  # nothing duet may call for Ben
        for number in [*PROBES.values(), US_MOBILE, UK_LANDLINE]:
            refused = await call_me(server, room, "host", phone=number)
            assert refused.status_code == 422, (number, refused.text)
            assert refused.json()["code"] in ("phone_not_allowed", "invalid_request"), refused.text
        assert (await call_me(server, room, "guest")).json() == {
            "code": "phone_not_on_file",
            "message": "duet has no phone number for you in this session; dial in instead.",
        }
        assert fake_twilio.received == []  # not one call reached Twilio
        same = await call_me(server, room, "host", phone=ANA_PHONE)  # the number on file, typed: fine
        assert same.status_code == 202
    assert [r.fields["To"] for r in fake_twilio.received] == [ANA_PHONE]


@pytest.mark.parametrize(
    "server_settings", [{"phone_call_me_typed": True, "phone_call_countries": ["US", "GB"]}], indirect=True
)
async def test_typed_numbers_only_in_allowed_countries(
    server: RunningServer, fake_twilio: FakeTwilio
) -> None:
    async with call(server, host={"name": "Ana"}, guest={"name": "Ben"}) as (room, *_):
        assert await preview(server, room, "guest") == {"phone": None, "typed": True}
        for probe, number in PROBES.items():
            refused = await call_me(server, room, "guest", phone=number)
            assert refused.status_code == 422, (probe, refused.text)
            body = refused.json()
            assert body["code"] in ("phone_not_allowed", "invalid_request") and body["message"], (probe, body)
        assert fake_twilio.received == []
        assert (await call_me(server, room, "guest", phone=UK_LANDLINE)).status_code == 202
    assert [r.fields["To"] for r in fake_twilio.received] == [UK_LANDLINE]


@pytest.mark.parametrize(
    "server_settings", [{"phone_call_me_per_day": 2, "phone_call_me_max_s": 900}], indirect=True
)
async def test_a_daily_ceiling_for_the_whole_deployment(
    server: RunningServer, fake_twilio: FakeTwilio
) -> None:
    people = {"host": {"name": "Ana María", "phone": ANA_PHONE}, "guest": {"name": "Ben", "phone": US_MOBILE}}
    async with call(server, **people) as (first, *_), call(server, **people) as (second, *_):
        assert (await call_me(server, first, "host")).status_code == 202
        assert (await call_me(server, second, "guest")).status_code == 202  # another room: same day
        refused = await call_me(server, first, "guest")
        assert (refused.status_code, refused.json()["code"]) == (429, "daily_limit")
        assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600
        assert "2 calls for today" in refused.json()["message"]
    assert len(fake_twilio.received) == 2
    # Every call ends after DUET_PHONE_CALL_ME_MAX_S, whatever happens on it.
    assert {r.fields["TimeLimit"] for r in fake_twilio.received} == {"900"}

    # Whoever answers hears Ana's first name, and nothing of the session or of Ben, until 1 is pressed.
    placed = fake_twilio.received[0].fields
    params = {
        "AccountSid": ACCOUNT_SID,
        "CallSid": "CA" + "1" * 32,
        "From": placed["From"],
        "To": placed["To"],
    }
    asked = await TwilioSide(server.url).twiml(placed["Url"], {**params, "CallStatus": "in-progress"})
    assert says(asked) == [
        "Hello Ana. This is duet, calling about your session. Press 1 to join.",
        "No key was pressed. Goodbye.",
    ]


# --- the settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"phone_call_me_typed": True}, "DUET_PHONE_CALL_ME_TYPED needs DUET_PHONE_CALL_COUNTRIES"),
        ({"phone_call_countries": ["US", "XX", "1"]}, "ISO 3166-1 alpha-2 country codes"),
        ({"phone_call_me_max_s": 5 * 3600}, "less than or equal to 14400"),
    ],
)
def test_call_me_settings_that_make_no_sense_are_refused(values: dict[str, Any], words: str) -> None:
    phone = {"phone_provider": "console", "phone_dial_in": "+14155550100"}
    with pytest.raises(ValidationError, match=words):
        Settings(_env_file=None, **phone, **values)  # type: ignore[call-arg]


def test_call_me_defaults() -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (defaults.phone_call_me_typed, defaults.phone_call_countries) == (False, [])
    assert (defaults.phone_call_me_per_day, defaults.phone_call_me_max_s) == (200, 3600)
    assert (defaults.phone_wrong_pins_per_minute, defaults.phone_pin_late_s) == (30, 3600)
    assert Settings(_env_file=None, phone_call_countries=["us", " gb"]).phone_call_countries == ["US", "GB"]  # type: ignore[call-arg]
