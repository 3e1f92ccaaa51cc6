"""The Twilio adapter over real HTTP: a local server stands in for Twilio's REST API and sees exactly
what Twilio would (URL, form fields, basic auth)."""

from __future__ import annotations

import pytest
from twilio_stand_in import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

from app.phone.provider import CallRequest, ProviderRejected, ProviderUnavailable
from app.phone.twilio import TwilioProvider

CALL = CallRequest(
    to="+14155550123",
    from_="+14155550100",
    answer_url="https://duet.example/phone/call-me/answer?room=r&role=host",
    status_url="https://duet.example/phone/call-status?room=r&role=host",
    time_limit_s=1800,
)


def provider(fake: FakeTwilio, token: str = AUTH_TOKEN) -> TwilioProvider:
    return TwilioProvider(account_sid=ACCOUNT_SID, auth_token=token, api_base=fake.url)


async def test_placing_a_call_sends_what_twilio_expects(fake_twilio: FakeTwilio) -> None:
    twilio = provider(fake_twilio)
    try:
        placed = await twilio.place_call(CALL)
    finally:
        await twilio.close()
    assert placed.sid == "CA" + f"{1:032x}" and placed.status == "queued"
    [request] = fake_twilio.received
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json")
    assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.content_type == "application/x-www-form-urlencoded"
    assert request.form == [
        ("To", "+14155550123"),
        ("From", "+14155550100"),
        ("Url", "https://duet.example/phone/call-me/answer?room=r&role=host"),
        ("Method", "POST"),
        ("StatusCallback", "https://duet.example/phone/call-status?room=r&role=host"),
        ("StatusCallbackMethod", "POST"),
        ("Timeout", "30"),
        ("TimeLimit", "1800"),  # the call ends after this, whatever happens
    ]


async def test_hanging_up_updates_the_call_to_completed(fake_twilio: FakeTwilio) -> None:
    twilio = provider(fake_twilio)
    try:
        await twilio.hang_up("CA" + "f" * 32)
        fake_twilio.answer_with = (404, {"code": 20404, "message": "not found", "status": 404})
        await twilio.hang_up("CA" + "e" * 32)  # over already: not an error
    finally:
        await twilio.close()
    first = fake_twilio.received[0]
    assert first.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/CA{'f' * 32}.json"
    assert first.form == [("Status", "completed")] and first.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (
            400,
            {"code": 21211, "message": "Invalid 'To' Phone Number", "status": 400},
            ProviderRejected,
            21211,
        ),
        (400, {"code": 13227, "message": "Geo permission", "status": 400}, ProviderRejected, 13227),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, ProviderUnavailable, None),
        (500, {"message": "boom"}, ProviderUnavailable, None),
        (503, [], ProviderUnavailable, None),
    ],
)
async def test_twilio_errors(
    fake_twilio: FakeTwilio, status: int, body: object, error: type[Exception], code: int | None
) -> None:
    fake_twilio.answer_with = (status, body)  # type: ignore[assignment]
    twilio = provider(fake_twilio)
    try:
        with pytest.raises(error) as raised:
            await twilio.place_call(CALL)
    finally:
        await twilio.close()
    if isinstance(raised.value, ProviderRejected):
        assert (raised.value.status, raised.value.code) == (status, code)


async def test_an_unreachable_api() -> None:
    twilio = TwilioProvider(account_sid=ACCOUNT_SID, auth_token="x", api_base="http://127.0.0.1:9")
    try:
        with pytest.raises(ProviderUnavailable, match="could not be reached"):
            await twilio.place_call(CALL)
    finally:
        await twilio.close()


async def test_wrong_token_is_refused_by_twilio(fake_twilio: FakeTwilio) -> None:
    twilio = provider(fake_twilio, token="not-the-token")
    try:
        with pytest.raises(ProviderUnavailable, match="credentials"):
            await twilio.place_call(CALL)
    finally:
        await twilio.close()
