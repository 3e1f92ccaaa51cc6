"""TwiML, the XML a voice webhook answers with: pure builders over :mod:`xml.etree.ElementTree`.

Every text and attribute goes through ElementTree, which escapes it, so a name typed into a room
("Ana <3 & co") can never change the document. Verbs and attributes are Twilio's
(https://www.twilio.com/docs/voice/twiml).
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, SubElement, tostring

__all__ = ["Conference", "dial_conference", "gather", "hangup", "pause", "redirect", "response", "say"]

MAX_CALL_S = 4 * 3600
"""Twilio's default (and duet's longest) ``<Dial timeLimit>``: four hours, in seconds."""


def say(text: str) -> Element:
    """``<Say>``: read ``text`` to the caller."""
    element = Element("Say")
    element.text = text
    return element


def pause(seconds: int) -> Element:
    return Element("Pause", {"length": str(seconds)})


def gather(*, action: str, num_digits: int, timeout_s: int, prompt: str, on_empty: bool) -> Element:
    """``<Gather>``: read ``prompt`` and collect up to ``num_digits`` keys, then POST them to ``action``
    as ``Digits``. With ``on_empty`` the action is called (with empty ``Digits``) when nothing was pressed
    within ``timeout_s`` seconds; otherwise the document goes on with the next verb."""
    element = Element(
        "Gather",
        {
            "input": "dtmf",
            "action": action,
            "method": "POST",
            "numDigits": str(num_digits),
            "timeout": str(timeout_s),
            "actionOnEmptyResult": "true" if on_empty else "false",
        },
    )
    element.append(say(prompt))
    return element


@dataclass(frozen=True, slots=True)
class Conference:
    """Where a ``<Dial><Conference>`` puts the caller."""

    name: str
    """The conference's name at the provider (callers never hear it)."""
    status_callback: str
    """URL the provider POSTs to when this caller joins or leaves (``participant-join`` / ``-leave``)."""
    time_limit_s: int = MAX_CALL_S
    """The call ends after this many seconds (the room's remaining lifetime)."""
    max_participants: int = 2
    """A room has two people: a third call (someone who guessed the PIN while both are on the
    phone) is refused by the provider (Twilio: error 16020, "Conference is full")."""


def dial_conference(conference: Conference) -> Element:
    """``<Dial><Conference>``: join the named conference; it starts as soon as the first person is in,
    it goes on when one of them hangs up, and nobody hears hold music."""
    dial = Element("Dial", {"timeLimit": str(max(1, min(conference.time_limit_s, MAX_CALL_S)))})
    room = SubElement(
        dial,
        "Conference",
        {
            "startConferenceOnEnter": "true",
            "endConferenceOnExit": "false",
            "beep": "true",
            "waitUrl": "",
            "maxParticipants": str(conference.max_participants),
            "statusCallback": conference.status_callback,
            "statusCallbackMethod": "POST",
            "statusCallbackEvent": "join leave",
        },
    )
    room.text = conference.name
    return dial


def redirect(url: str) -> Element:
    element = Element("Redirect", {"method": "POST"})
    element.text = url
    return element


def hangup() -> Element:
    return Element("Hangup")


def response(*verbs: Element) -> str:
    """The whole document: ``<?xml …?><Response>…</Response>``."""
    root = Element("Response")
    root.extend(verbs)
    return '<?xml version="1.0" encoding="UTF-8"?>' + tostring(root, encoding="unicode")
