"""First-start conveniences for development: an API key and a demo room, printed once for the developer.

Secrets are printed only when they are made: the key on the start that created it, the demo room's
join links on the start that created the room. Later starts say where the key is kept and how to
see the links again, so a log never collects them.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app import crud, rooms
from app.models import PersonCreate, RoomCreate, RoomState, room_state
from app.services import Services
from signaling.messages import Role

__all__ = ["DevWelcome", "prepare_development"]

_ROOM_BODY = """'{"title": "Mentoring", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}'"""


@dataclass(frozen=True)
class DevWelcome:
    """What a development start tells the developer; a secret only on the start that made it."""

    key_file: Path
    """Where the development API key's plain text is kept (mode 0600)."""
    room_id: str
    new_api_key: str | None = None
    """The key, when this start made it; ``None`` when it was made (and shown) before."""
    new_join_urls: tuple[str, str] | None = None
    """The demo room's host and guest links, when this start made the room."""

    def render(self, base_url: str) -> str:
        key_file = shlex.quote(str(self.key_file))
        bearer = self.new_api_key or f"$(cat {key_file})"
        if self.new_api_key:
            key_lines = [
                f"  API key (development only): {self.new_api_key}",
                f"    shown only now; it is kept in {key_file} (readable only by you)",
            ]
        else:
            key_lines = [
                f"  API key (development only): in {key_file}, shown when it was made "
                "(`duet apikey create NAME` makes another)"
            ]
        if self.new_join_urls:
            host_url, guest_url = self.new_join_urls
            room_lines = [
                f"  Demo room {self.room_id} (its links are shown only now):",
                f"    host (Ana): {host_url}",
                f"    guest (Ben): {guest_url}",
            ]
        else:
            room_lines = [
                f"  Demo room {self.room_id}: its join links were shown when it was made; again with",
                f'    curl -s {base_url}/v1/rooms/{self.room_id} -H "Authorization: Bearer {bearer}"',
            ]
        return "\n".join(
            [
                "",
                "duet is starting in development mode.",
                *key_lines,
                "  Create a room:",
                f"    curl -s -X POST {base_url}/v1/rooms \\",
                f"      -H \"Authorization: Bearer {bearer}\" -H 'Content-Type: application/json' \\",
                f"      -d {_ROOM_BODY}",
                *room_lines,
                f"  API docs: {base_url}/docs",
                "",
            ]
        )


async def prepare_development(services: Services) -> DevWelcome:
    """Make (once) a development API key and a demo room; both are remembered in the data folder.

    The key's plain text is kept in ``data_dir/dev-api-key`` (mode 0600) only in development, for the
    developer to read back; the database holds its hash like any other key. The key is not an admin:
    like any key it sees the rooms it creates. The demo room belongs to it: the key creates the room,
    and a demo room kept from before (made without a key, or by a development key since replaced) is
    handed to the current key, so the ``curl`` line printed for it always works.
    """
    data_dir = services.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file, room_file = data_dir / "dev-api-key", data_dir / "demo-room"
    new_key: str | None = None
    new_urls: tuple[str, str] | None = None
    async with services.db.session() as session:
        key = key_file.read_text().strip() if key_file.exists() else ""
        dev_key = await crud.api_key_by_secret(session, key=key) if key else None
        if dev_key is None:
            new_key = crud.new_api_key()
            dev_key = await crud.create_api_key(session, name="development", key=new_key)
            key_file.touch(mode=0o600)
            key_file.write_text(new_key)
        room_id = room_file.read_text().strip() if room_file.exists() else ""
        room = await crud.get_room(session, room_id=room_id) if room_id else None
        if room is None or room_state(room, datetime.now(UTC)) in {RoomState.ENDED, RoomState.EXPIRED}:
            body = RoomCreate(
                title="Demo mentoring session", host=PersonCreate(name="Ana"), guest=PersonCreate(name="Ben")
            )
            public = await rooms.create_room(services, session, body=body, api_key=dev_key)
            room_file.write_text(public.id)
            room = await crud.get_room(session, room_id=public.id)
            assert room is not None
            new_urls = (rooms.join_url(services, room, Role.HOST), rooms.join_url(services, room, Role.GUEST))
        elif room.api_key_id != dev_key.id:
            room = await crud.update_room(session, room=room, changes={"api_key_id": dev_key.id})
        assert room is not None
    return DevWelcome(key_file=key_file, room_id=room.id, new_api_key=new_key, new_join_urls=new_urls)
