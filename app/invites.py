"""Calendar invites: one RFC 5545 event per person, with the call's link and its backup plan.

Each person's invite carries their own join link (``LOCATION``, ``URL``, ``DESCRIPTION`` and an RFC
7986 ``CONFERENCE`` property for the video call), the phone backup as a second ``CONFERENCE``
(``tel:`` the dial-in number, then the PIN as DTMF), and the backup plan in words, as the article
duet grew from asks: agree the tool and what to do when it fails before you meet. The ``UID`` is
stable per room and person and ``SEQUENCE`` grows with each reschedule, so a calendar that imported
the first invite updates the event instead of adding a second; an ended room's invite says
``CANCELLED``. Built with the ``icalendar`` library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from app.models import Room
from signaling.messages import Role

__all__ = ["DEFAULT_LENGTH", "InviteFacts", "invite"]

DEFAULT_LENGTH = timedelta(hours=1)
"""The event's length when the room has no planned end (``ends_at``)."""


@dataclass(frozen=True, slots=True)
class InviteFacts:
    """What an invite says beyond the room itself."""

    role: Role
    name: str
    other_name: str
    join_url: str
    check_url: str
    public_url: str
    dial_in: str | None
    """The phone bridge's number (E.164), when the deployment has one."""
    pin: str | None
    join_early_min: int


def _backup_plan(f: InviteFacts) -> list[str]:
    lines = [
        "If the video struggles, duet suggests audio only; you keep talking.",
    ]
    if f.dial_in and f.pin:
        lines.append(
            f'If audio fails too: call {f.dial_in} and enter PIN {f.pin}, or choose "Call me" in the call.'
        )
    lines.append(
        f"The link opens {f.join_early_min} minutes before the start. Test your camera and connection"
        f" any time before: {f.check_url}"
    )
    return lines


def invite(room: Room, facts: InviteFacts, *, now: datetime) -> bytes:
    """The ``.ics`` for one person of ``room``."""
    calendar = Calendar()
    calendar.add("prodid", "-//duet//duet invites//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    host = urlsplit(facts.public_url).hostname or "duet"
    event.add("uid", f"{room.id}.{facts.role.value}@{host}")
    event.add("dtstamp", now)
    event.add("dtstart", room.starts_at)
    event.add("dtend", room.ends_at or room.starts_at + DEFAULT_LENGTH)
    event.add("sequence", room.schedule_sequence)
    event.add("summary", f"{room.title} with {facts.other_name}")
    event.add("status", "CANCELLED" if room.ended_at is not None else "CONFIRMED")
    event.add("location", facts.join_url)
    event.add("url", facts.join_url)
    description = [
        f"Your video session with {facts.other_name} ({room.title}).",
        f"Join: {facts.join_url}",
        "",
        "Backup plan:",
        *_backup_plan(facts),
    ]
    event.add("description", "\n".join(description))
    # FEATURE takes several values (RFC 7986 section 6.3): a list, written unquoted with commas.
    video: dict[str, Any] = {"value": "URI", "feature": ["VIDEO", "AUDIO"], "label": "Join the video call"}
    event.add("conference", facts.join_url, parameters=video)
    if facts.dial_in and facts.pin:
        phone: dict[str, Any] = {
            "value": "URI",
            "feature": ["PHONE"],
            "label": f"Phone backup (PIN {facts.pin})",
        }
        event.add("conference", f"tel:{facts.dial_in},,{facts.pin}#", parameters=phone)
    calendar.add_component(event)
    ics: bytes = calendar.to_ical()
    return ics
