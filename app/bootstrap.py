"""First-start conveniences for development: an API key and a demo room, printed for the developer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from app import crud, rooms
from app.models import PersonCreate, RoomCreate, RoomState, room_state
from app.services import Services
from signaling.messages import Role

__all__ = ["DevWelcome", "prepare_development"]


@dataclass(frozen=True)
class DevWelcome:
    api_key: str
    room_id: str
    host_url: str
    guest_url: str

    def render(self, base_url: str) -> str:
        return "\n".join(
            [
                "",
                "duet is starting in development mode.",
                f"  API key (development only): {self.api_key}",
                "  Create a room:",
                f"    curl -s -X POST {base_url}/v1/rooms \\",
                f"      -H 'Authorization: Bearer {self.api_key}' -H 'Content-Type: application/json' \\",
                """      -d '{"title": "Mentoring", "host": {"name": "Ana"}, "guest": {"name": "Ben"}}'""",
                f"  Demo room {self.room_id}:",
                f"    host (Ana): {self.host_url}",
                f"    guest (Ben): {self.guest_url}",
                f"  API docs: {base_url}/docs",
                "",
            ]
        )


async def prepare_development(services: Services) -> DevWelcome:
    """Make (once) a development API key and a demo room; both are remembered in the data folder.

    The key's plain text is kept in ``data_dir/dev-api-key`` (mode 0600) only in development, so it
    can be printed at every start; the database holds its hash like any other key.
    """
    data_dir = services.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    key_file, room_file = data_dir / "dev-api-key", data_dir / "demo-room"
    async with services.db.session() as session:
        key = key_file.read_text().strip() if key_file.exists() else ""
        if not key or await crud.api_key_by_secret(session, key=key) is None:
            key = crud.new_api_key()
            await crud.create_api_key(session, name="development", key=key)
            key_file.touch(mode=0o600)
            key_file.write_text(key)
        room_id = room_file.read_text().strip() if room_file.exists() else ""
        room = await crud.get_room(session, room_id=room_id) if room_id else None
        if room is None or room_state(room, datetime.now(UTC)) in {RoomState.ENDED, RoomState.EXPIRED}:
            body = RoomCreate(
                title="Demo mentoring session", host=PersonCreate(name="Ana"), guest=PersonCreate(name="Ben")
            )
            public = await rooms.create_room(services, session, body=body, api_key=None)
            room_file.write_text(public.id)
            room = await crud.get_room(session, room_id=public.id)
        assert room is not None
    return DevWelcome(
        api_key=key,
        room_id=room.id,
        host_url=rooms.join_url(services, room, Role.HOST),
        guest_url=rooms.join_url(services, room, Role.GUEST),
    )
