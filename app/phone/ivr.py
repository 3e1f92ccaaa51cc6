"""What the phone says and asks (pure): each step of the dial-in and "call me" flows as TwiML.

The bridge looks things up and picks the step; these functions only turn the step into words and
verbs. Names come from the room and are escaped by :mod:`app.phone.twiml`. What the phone says when
a room turns a caller away is in :data:`app.access.REFUSALS`.
"""

from __future__ import annotations

from app.phone import twiml
from app.phone.twiml import Conference

__all__ = [
    "GATHER_TIMEOUT_S",
    "PIN_TRIES",
    "ask_pin",
    "ask_to_confirm",
    "ask_who",
    "first_name",
    "goodbye",
    "join",
    "try_later",
    "wrong_pin",
]

PIN_TRIES = 3
"""Wrong PINs allowed per call before duet says goodbye (issue 4); an 8-digit PIN leaves a guesser
3 chances in a hundred million per call and open room."""
GATHER_TIMEOUT_S = 10
"""Seconds duet waits for the next key press."""


def ask_pin(*, action: str, digits: int) -> str:
    """The first thing a caller to the dial-in number hears."""
    return twiml.response(
        twiml.say("Welcome to duet."),
        twiml.gather(
            action=action,
            num_digits=digits,
            timeout_s=GATHER_TIMEOUT_S,
            prompt=f"Please enter your {digits} digit session PIN.",
            on_empty=True,
        ),
    )


def wrong_pin(*, attempt: int, action: str, digits: int) -> str:
    """The PIN matched no session: try again, or, after :data:`PIN_TRIES` tries, a polite goodbye."""
    if attempt >= PIN_TRIES:
        return goodbye(
            "Sorry, that PIN is still not right. Please check the PIN in your session details and call "
            "again. Goodbye."
        )
    return twiml.response(
        twiml.gather(
            action=action,
            num_digits=digits,
            timeout_s=GATHER_TIMEOUT_S,
            prompt="Sorry, that PIN is not right. Please enter your session PIN again.",
            on_empty=True,
        )
    )


def ask_who(*, host: str, guest: str, action: str, again: bool = False) -> str:
    """The caller's number is not one of the two people's: ask who they are."""
    prompt = f"Press 1 if you are {host}. Press 2 if you are {guest}."
    return twiml.response(
        twiml.gather(
            action=action,
            num_digits=1,
            timeout_s=GATHER_TIMEOUT_S,
            prompt=("Sorry, please choose again. " if again else "") + prompt,
            on_empty=True,
        )
    )


def first_name(name: str) -> str:
    """What duet calls someone before it knows it has the right person: the first word of the name."""
    words = name.split()
    return words[0] if words else name


def ask_to_confirm(*, you: str, action: str) -> str:
    """A "call me" call was answered. Whoever answers hears only the first name of the person duet
    is calling, and nothing of the session or the other person, until they press 1; the key press
    also keeps a voicemail box out of the conversation."""
    return twiml.response(
        twiml.gather(
            action=action,
            num_digits=1,
            timeout_s=GATHER_TIMEOUT_S,
            prompt=f"Hello {first_name(you)}. This is duet, calling about your session. Press 1 to join.",
            on_empty=False,
        ),
        twiml.say("No key was pressed. Goodbye."),
        twiml.hangup(),
    )


def join(*, peer: str, peer_on_phone: bool, conference: Conference) -> str:
    """Into the room's conference, saying who the caller will talk to."""
    words = f"Joining you to your session with {peer}."
    if peer_on_phone:
        words += f" {peer} is on the line."
    return twiml.response(twiml.say(words), twiml.dial_conference(conference))


def try_later() -> str:
    """The menu takes no PINs right now (too many wrong ones from everyone): nothing is looked up."""
    return goodbye("Sorry, duet cannot take your PIN right now. Please try again in a few minutes. Goodbye.")


def goodbye(words: str) -> str:
    return twiml.response(twiml.say(words), twiml.hangup())
