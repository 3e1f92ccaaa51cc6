"""Twilio's request signature: the published example, and agreement with Twilio's own validator."""

from __future__ import annotations

import pytest
from twilio_stand_in import twilio_signature

from app.phone.signature import compute_signature, is_valid_signature

TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}


def test_twilios_published_example() -> None:
    # The example of https://www.twilio.com/docs/usage/security#validating-requests
    assert compute_signature(TOKEN, URL, PARAMS.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature(TOKEN, URL, PARAMS.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


CASES = [
    ("https://duet.example/phone/voice", PARAMS),
    ("https://duet.example/phone/voice/pin?attempt=2", {**PARAMS, "Digits": ""}),
    (
        "https://duet.example:8443/phone/conference?room=abc&role=host&via=call-me",
        {"FriendlyName": "duet-ü ñ"},
    ),
    ("http://127.0.0.1:8000/phone/voice", {}),
    ("https://duet.example/phone/voice", {"SpeechResult": "Ana & Ben <3", "Confidence": "0.9"}),
]


@pytest.mark.parametrize(("url", "params"), CASES)
def test_agrees_with_twilios_request_validator(url: str, params: dict[str, str]) -> None:
    validator = pytest.importorskip("twilio.request_validator").RequestValidator(TOKEN)
    signature = validator.compute_signature(url, params)
    assert compute_signature(TOKEN, url, params.items()) == signature
    assert is_valid_signature(TOKEN, url, params.items(), signature)
    assert validator.validate(url, params, compute_signature(TOKEN, url, params.items()))


def test_a_repeated_parameter_is_signed_like_twilios_multidict() -> None:
    validator = pytest.importorskip("twilio.request_validator").RequestValidator(TOKEN)

    class MultiDict(dict[str, str]):
        def getall(self, name: str) -> list[str]:
            return ["b", "a"] if name == "StatusCallbackEvent" else [self[name]]

    pairs = [("StatusCallbackEvent", "b"), ("To", "+1"), ("StatusCallbackEvent", "a")]
    expected = validator.compute_signature(URL, MultiDict({"StatusCallbackEvent": "b", "To": "+1"}))
    assert compute_signature(TOKEN, URL, pairs) == expected


@pytest.mark.parametrize(
    ("signed_url", "checked_url"),
    [
        ("https://duet.example:443/phone/voice", "https://duet.example/phone/voice"),
        ("https://duet.example/phone/voice", "https://duet.example:443/phone/voice"),
        ("http://127.0.0.1/phone/voice", "http://127.0.0.1:8000/phone/voice"),
    ],
)
def test_the_port_may_or_may_not_be_in_the_signed_url(signed_url: str, checked_url: str) -> None:
    signature = compute_signature(TOKEN, signed_url, PARAMS.items())
    assert is_valid_signature(TOKEN, checked_url, PARAMS.items(), signature)


@pytest.mark.parametrize(
    ("token", "url", "params", "signature"),
    [
        ("other-token", URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),  # signed with another account's token
        (TOKEN, URL.replace("foo=1", "foo=2"), PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),  # another URL
        (TOKEN, URL, {**PARAMS, "Digits": "9999"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),  # a changed parameter
        (TOKEN, URL, {**PARAMS, "Extra": "1"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="),  # an added parameter
        (TOKEN, URL, PARAMS, None),
        (TOKEN, URL, PARAMS, ""),
        (TOKEN, URL, PARAMS, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"),  # truncated
        ("", URL, PARAMS, compute_signature("", URL, PARAMS.items())),  # no token configured: nothing passes
    ],
)
def test_wrong_signatures_are_refused(
    token: str, url: str, params: dict[str, str], signature: str | None
) -> None:
    assert not is_valid_signature(token, url, params.items(), signature)
