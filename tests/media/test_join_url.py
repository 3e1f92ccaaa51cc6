"""Join links: ``{base}/s/{room_id}#t={token}`` to the signaling WebSocket URL."""

from __future__ import annotations

import pytest

from media.errors import JoinUrlError
from media.join_url import JoinUrl, parse_join_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://duet.example/s/Xk3_a-9#t=eyJhbGc.eyJyaWQ.sig",
            JoinUrl(
                "https://duet.example", "Xk3_a-9", "eyJhbGc.eyJyaWQ.sig", "wss://duet.example/s/Xk3_a-9/ws"
            ),
        ),
        (
            "http://127.0.0.1:8000/s/room1#t=tok",
            JoinUrl("http://127.0.0.1:8000", "room1", "tok", "ws://127.0.0.1:8000/s/room1/ws"),
        ),
        (  # a path prefix in front of /s/, a trailing slash, a query the page ignores
            "HTTPS://duet.example:8443/app/v/s/r1/?utm=x#t=tok",
            JoinUrl("https://duet.example:8443/app/v", "r1", "tok", "wss://duet.example:8443/app/v/s/r1/ws"),
        ),
        (  # other fragment fields are ignored; the token is percent-decoded
            "  https://duet.example/s/r1#x=1&t=a%2Bb&y  ",
            JoinUrl("https://duet.example", "r1", "a+b", "wss://duet.example/s/r1/ws"),
        ),
    ],
)
def test_parse_join_url(url: str, expected: JoinUrl) -> None:
    assert parse_join_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "join URL is empty"),
        ("duet.example/s/r1#t=tok", "must start with http:// or https:// (got no scheme)"),
        ("ftp://duet.example/s/r1#t=tok", "must start with http:// or https:// (got 'ftp')"),
        ("wss://duet.example/s/r1/ws#t=tok", "must start with http:// or https:// (got 'wss')"),
        ("https:///s/r1#t=tok", "join URL has no host"),
        ("https://duet.example/#t=tok", "path must end with /s/{room_id}"),
        ("https://duet.example/s/#t=tok", "path must end with /s/{room_id}"),
        ("https://duet.example/s/r1/ws#t=tok", "(got '/s/r1/ws')"),
        ("https://duet.example/s/r%201#t=tok", "path must end with /s/{room_id}"),
        ("https://duet.example/s/r1", "join URL has no token: expected a fragment '#t={token}'"),
        ("https://duet.example/s/r1#token=x", "fragment must hold 't={token}' (got 'token')"),
        ("https://duet.example/s/r1#t=", "join URL token is empty"),
    ],
)
def test_parse_join_url_refuses(url: str, message: str) -> None:
    with pytest.raises(JoinUrlError) as raised:
        parse_join_url(url)
    assert message in str(raised.value)


def test_join_url_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_join_url("nope")


def test_repr_hides_the_token() -> None:
    join_url = parse_join_url("https://duet.example/s/r1#t=secret-token")
    assert "secret-token" not in repr(join_url)
    assert "r1" in repr(join_url)
