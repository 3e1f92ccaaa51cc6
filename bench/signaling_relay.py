"""The baseline for the signaling load benchmarks: a bare Starlette relay speaking just enough of duet's
protocol for the same load generator to drive it.

Every frame is parsed and re-serialised (as duet does). ``join`` gets a small ``welcome`` (with
``peer.present``) and the one already in the room gets ``peer-joined``, so the generator negotiates as
with duet; ``ping`` gets ``pong``; ``stats`` gets a small ``quality`` (duet answers each report with
one), so stats → quality compares like for like; everything else goes to the room's other socket.
Served with the same uvicorn options as ``duet serve`` (``ws_max_size``, proxy headers, access log at
info); uvicorn's WebSocket implementation and deflate come from the benchmark's hook
(``bench/signaling_servers.py``).

    .venv/bin/python bench/signaling_relay.py PORT
"""

from __future__ import annotations

import json
import sys
from typing import Any

__all__ = ["relay_app"]

_LINK = {"audio": "excellent", "video": "good", "mos": 4.4, "videoScore": 100.0, "problems": []}


def relay_app() -> Any:
    """The relay's Starlette app: one WebSocket route, rooms of at most two sockets kept in a dict."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    rooms: dict[str, list[WebSocket]] = {}

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        room_id = str(ws.path_params["room_id"])
        peers = rooms.setdefault(room_id, [])
        try:
            while True:
                frame = json.loads(await ws.receive_text())
                kind = frame.get("type")
                if kind == "join":  # seated once welcomed, so nothing of the peer's arrives before
                    others = [p for p in peers if p is not ws]
                    welcome = {
                        "type": "welcome",
                        "v": 1,
                        "room": {"id": room_id},
                        "peer": {"present": bool(others)},
                    }
                    await ws.send_text(json.dumps(welcome))
                    peers.append(ws)
                    for peer in others:
                        await peer.send_text(json.dumps({"type": "peer-joined", "peer": {"present": True}}))
                elif kind == "ping":
                    await ws.send_text(json.dumps({"type": "pong", "id": frame.get("id")}))
                elif kind == "stats":
                    await ws.send_text(json.dumps({"type": "quality", "you": _LINK, "peer": _LINK}))
                else:
                    for peer in [p for p in peers if p is not ws]:
                        await peer.send_text(json.dumps(frame))
        except WebSocketDisconnect:
            pass
        finally:
            if ws in peers:
                peers.remove(ws)
            if not peers:
                rooms.pop(room_id, None)

    return Starlette(routes=[WebSocketRoute("/s/{room_id}/ws", socket)])


def serve(port: int) -> None:
    """Serve the relay on loopback ``port`` until terminated."""
    import uvicorn

    uvicorn.run(
        relay_app(),
        host="127.0.0.1",
        port=port,
        ws_max_size=1024 * 1024,
        proxy_headers=True,
        log_level="info",
    )


if __name__ == "__main__":
    serve(int(sys.argv[1]))
