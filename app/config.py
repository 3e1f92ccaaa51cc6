"""Settings, read from ``DUET_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.logs import LogFormat
from app.phone.numbers import is_country
from app.secret_strength import weakness
from media.fallback_policy import PolicyConfig
from signaling.messages import IceServer

__all__ = [
    "IncompletePhoneSettings",
    "IncompleteTurnSettings",
    "RemoteDevelopmentHost",
    "Settings",
    "WeakSecretError",
    "policy_config",
    "signing_secret",
]

_MAX_ROOM_TTL_S = 10 * 366 * 24 * 3600
"""Ten years: no room lives longer, so no expiry computed from a start (years 1970-2100) overflows."""


class WeakSecretError(ValueError):
    """Raised when production runs without a strong signing secret."""


class RemoteDevelopmentHost(ValueError):
    """Raised when development mode would listen on an address other machines reach, unasked."""


class IncompletePhoneSettings(ValueError):
    """Raised when a phone provider is chosen without what it needs."""


class IncompleteTurnSettings(ValueError):
    """Raised when TURN servers are configured without the secret shared with them."""


class Settings(BaseSettings):
    """Everything duet can be told. One object, passed in; never read from a global."""

    model_config = SettingsConfigDict(env_prefix="DUET_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("data")
    """Folder for the SQLite file and, in development, the generated secret and API key."""
    database_url: str = ""
    """SQLAlchemy async URL; empty means ``sqlite+aiosqlite:///{data_dir}/duet.db``."""
    public_url: str = ""
    """Base of the join links handed out (what people's browsers reach); empty means
    ``http://{host}:{port}``, right for a development server."""
    secret_key: SecretStr | None = None
    """Signs join tokens. Generated and kept in ``data_dir`` in development; required in production,
    strong (``app/secret_strength.py``)."""
    secret_key_previous: SecretStr | None = None
    """The signing key before the current one, during a rotation: join links it signed still work
    until they expire; new ones are signed with ``secret_key`` only."""
    ice_servers: list[IceServer] = Field(default_factory=list)
    """STUN/TURN servers for participants, JSON: ``[{"urls": ["stun:stun.example.org"]}]``."""
    turn_urls: list[Annotated[str, Field(pattern=r"^turns?:[^\s]+$")]] = Field(default_factory=list)
    """TURN servers (coturn with ``use-auth-secret``) whose credentials duet issues per participant,
    JSON: ``["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349?transport=tcp"]``."""
    turn_secret: SecretStr | None = None
    """The TURN server's ``static-auth-secret``; required with ``turn_urls``."""
    turn_ttl_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    """Seconds an issued TURN credential stays valid for new allocations (between 60 s and 7 days);
    every ``welcome`` carries fresh ones, so a participant who rejoins is never stuck with stale ones."""
    turn_refresh_s: float | None = Field(default=None, gt=0)
    """How often a connected participant gets fresh TURN credentials in an ``ice-servers`` frame, in
    seconds; default half of ``turn_ttl_s``, so the next ICE restart of a long call can still allocate."""

    room_default_ttl_s: int = Field(default=24 * 3600, gt=0, le=_MAX_ROOM_TTL_S)
    """A room expires this many seconds after it starts unless ``expires_at`` is given."""
    room_max_ttl_s: int = Field(default=30 * 24 * 3600, gt=0, le=_MAX_ROOM_TTL_S)
    """Longest allowed lifetime of a room, counted from its start (seconds, at most ten years)."""
    join_early_s: int = Field(default=600, ge=0)
    """How many seconds before ``starts_at`` people may join."""
    join_timeout_s: float = Field(default=5.0, gt=0)
    """Seconds a new socket has to send ``join`` before it is closed."""
    ping_interval_s: float = Field(default=10.0, gt=0)
    """Seconds between client pings; a socket silent for three intervals is dropped."""
    sweep_interval_s: float = Field(default=1.0, gt=0)
    """How often (seconds) rooms are checked for silent sockets and expiry."""
    max_frame_bytes: int = Field(default=64 * 1024, gt=0)
    """Largest signaling frame accepted (bytes); larger ones get a ``too_large`` error."""
    log_format: LogFormat = "text"
    """``text`` (a line per record) or ``json`` (one object per line, with the connection's room,
    role and id)."""
    access_log: bool = False
    """Log a line per HTTP request and per WebSocket connection (off: under load they cost more than
    the work they describe)."""
    send_queue_max_bytes: int = Field(default=256 * 1024, ge=64 * 1024)
    """Bytes of frames that may wait for one socket (beyond what its transport buffers) before the
    client is dropped as too slow: several of the largest offers, never reached by a reading client."""
    send_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds one frame may wait for a client that does not read before the client is dropped."""
    event_flush_interval_s: float = Field(default=0.2, gt=0)
    """Room events are written in batches at most this many seconds apart."""
    reconnect_grace_s: float = Field(default=20.0, ge=0)
    """Seconds a seat whose socket dropped without ``bye`` is held for the same person to come back
    and resume (the other sees "reconnecting", then "back" or, after this, "left"); 0 turns it off."""

    stats_interval_s: float = Field(default=2.0, gt=0)
    """Seconds between participants' stats reports."""
    fallback_video_poor_s: float = Field(default=6.0, gt=0)
    """Seconds of poor video before audio-only is suggested."""
    fallback_audio_bad_s: float = Field(default=8.0, gt=0)
    """Seconds of bad or lost audio before the phone is suggested."""
    fallback_recovery_s: float = Field(default=25.0, gt=0)
    """Seconds of a good link before video is offered back."""
    fallback_cooldown_s: float = Field(default=180.0, ge=0)
    """Seconds before a declined suggestion is made again."""
    fallback_connection_down_s: float = Field(default=10.0, gt=0)
    """Seconds of ICE disconnected/failed before the phone is suggested."""
    fallback_reports_stale_s: float = Field(default=15.0, gt=0)
    """Seconds without a participant's reports before the phone is suggested to the other."""
    quality_warmup_s: float = Field(default=10.0, ge=0)
    """Seconds after video starts before it is judged (encoders ramp up)."""
    phone_dial_in: str | None = Field(default=None, pattern=r"^\+[1-9]\d{6,14}$")
    """The phone bridge's dial-in number (E.164); rooms then get a PIN. It is also the caller id of
    "call me" calls."""
    phone_provider: Literal["none", "console", "twilio"] = "none"
    """Who runs the phone bridge: nobody, the console (development: logs calls, places none) or Twilio."""
    twilio_account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    twilio_auth_token: SecretStr | None = None
    """Signs Twilio's webhooks and authenticates duet to Twilio's REST API."""
    twilio_api_base: str = "https://api.twilio.com"
    """Base URL of Twilio's REST API (tests point it at a local stand-in)."""
    phone_call_me_per_room: int = Field(default=4, gt=0)
    """"Call me" calls a room may place per window (both people together)."""
    phone_call_me_window_s: float = Field(default=600.0, gt=0)
    """The window of ``phone_call_me_per_room``, in seconds."""
    phone_call_me_per_day: int = Field(default=200, gt=0)
    """"Call me" calls the whole deployment places in any 24 hours (all rooms, all processes: counted
    from the stored ``phone.calling`` events); more get 429. A ceiling on what a leaked link or a bug
    can cost."""
    phone_call_me_max_s: int = Field(default=3600, ge=60, le=4 * 3600)
    """Longest a "call me" call may last, in seconds (Twilio's ``TimeLimit``; its own default is 4 h)."""
    phone_call_me_typed: bool = False
    """Whether "call me" may ring a number the person types. Off: only the number given for them at
    room creation (by the platform, with its API key) is ever called."""
    phone_call_countries: list[str] = Field(default_factory=list)
    """Countries a typed number may be in, ISO 3166-1 alpha-2, JSON: ``["US", "CA", "GB"]``; required
    with ``phone_call_me_typed``. ``+1`` numbers are told apart by their area code (Antigua's +1 268
    is not the United States)."""
    phone_wrong_pins_per_minute: int = Field(default=30, gt=0)
    """Wrong PINs the dial-in menu takes from all callers together in any minute (per process); beyond
    it every caller is told to try again later and hung up, and a warning is logged."""
    phone_pin_late_s: int = Field(default=3600, ge=0)
    """How long after a room's ``starts_at`` its PIN still opens it while nobody is in it (seconds);
    later, only while someone is connected or on the phone."""
    precall_max_concurrent: int = Field(default=4, ge=0)
    """Pre-call connection tests (server-side echo peers) running at once; more get 429."""
    precall_max_s: float = Field(default=15.0, gt=0)
    """Hard limit on one pre-call test's echo peer, in seconds; it closes itself then."""
    precall_duration_s: float = Field(default=8.0, gt=0)
    """How long a pre-call test runs, connecting included, in seconds (shorter than ``precall_max_s``)."""
    precall_allow_private_candidates: bool = False
    """Let a pre-call test's echo peer send to the client's ICE candidates at loopback, link-local,
    private (RFC 1918, ``fc00::/7``) and CGNAT addresses, and at mDNS names. Off, an offer cannot make
    the server probe its own network; a client at such an address still connects, through the checks
    it sends itself (peer-reflexive). For labs. Metadata endpoints, ``0.0.0.0/8``, multicast and
    broadcast are never contacted (``media/remote_candidates.py``)."""

    webhook_allow_hosts: list[str] = Field(default_factory=list)
    """Webhook endpoint hosts (``"hooks.internal"`` or ``"10.0.0.5:8080"``) that may be at loopback,
    private or link-local addresses, JSON: ``["hooks.internal"]``. Outside development such addresses
    are refused when the endpoint is registered and again at each delivery (SSRF); metadata
    endpoints, multicast and broadcast never. In development any loopback or private host is allowed."""
    webhook_retry_schedule_s: list[float] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 86400.0], min_length=1
    )
    """Seconds before each retry of a failed delivery (each ±20 % at random, so a recovering receiver
    is not hit by every retry at once); after the last, the delivery is ``failed``. The default is
    Standard Webhooks' and Svix's: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 24 h (about 42 hours)."""
    webhook_probe_s: float = Field(default=30.0, gt=0)
    """How often an endpoint whose deliveries fail is probed with its oldest waiting message, ahead
    of that message's retry time (not counted as a retry): a receiver back from an outage gets what
    waited within this many seconds."""
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    """Seconds a receiver has to answer a delivery (connect, send, answer)."""
    webhook_disable_after_s: float = Field(default=3 * 86400.0, gt=0)
    """An endpoint whose deliveries have all failed for this long (3 days) is disabled, and says why."""
    webhook_max_in_flight: int = Field(default=16, ge=1, le=256)
    """Deliveries in progress at once (to all endpoints together)."""
    no_show_grace_s: float = Field(default=600.0, ge=0)
    """Default seconds after a room's start by which someone who has not come is a no-show (a room
    can set its own: ``no_show_after_s``)."""
    attendance_check_s: float = Field(default=5.0, gt=0)
    """Seconds between checks of the attendance timers (no-shows, waiting): their events are at most
    this late."""
    waiting_after_s: float = Field(default=300.0, gt=0)
    """Seconds someone may wait alone for the other (from the start at the earliest) before the
    platform is told (``participant.waiting``), so it can nudge the late one."""

    host: str = "127.0.0.1"
    port: int = 8000
    allow_remote_dev: bool = False
    """Let development mode listen on an address other than loopback (``host``). Off by default:
    development makes its own secret and API key and prints the key and demo links at first start,
    fine on your machine, not on a network."""

    @field_validator("phone_call_countries")
    @classmethod
    def _countries(cls, value: list[str]) -> list[str]:
        codes = [code.strip().upper() for code in value]
        unknown = [code for code in codes if not is_country(code)]
        if unknown:
            raise ValueError(
                f'DUET_PHONE_CALL_COUNTRIES takes ISO 3166-1 alpha-2 country codes like "US"; '
                f"not {', '.join(unknown)}"
            )
        return codes

    @model_validator(mode="after")
    def _check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'duet.db'}"
        if self.env == "production":
            self._check_signing_keys()
        if self.env == "development" and not self.allow_remote_dev and not _is_loopback(self.host):
            raise RemoteDevelopmentHost(
                f"development mode listens only on loopback, not {self.host!r}: it makes its own secret and "
                "API key and prints the key and demo links at first start. Set DUET_ENV=production (with "
                "its secrets) to serve a network, or DUET_ALLOW_REMOTE_DEV=true on a network you trust"
            )
        self.public_url = (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
        self._check_phone()
        self._check_turn()
        if self.precall_duration_s >= self.precall_max_s:
            raise ValueError(
                f"DUET_PRECALL_DURATION_S ({self.precall_duration_s:g} s) must be shorter than "
                f"DUET_PRECALL_MAX_S ({self.precall_max_s:g} s), the echo peer's hard limit"
            )
        return self

    def _check_signing_keys(self) -> None:
        keys = {"DUET_SECRET_KEY": self.secret_key}
        if self.secret_key_previous is not None:
            keys["DUET_SECRET_KEY_PREVIOUS"] = self.secret_key_previous
        for name, key in keys.items():
            reason = weakness(key.get_secret_value() if key else "")
            if reason:
                raise WeakSecretError(f"{name} must be a strong random secret in production: {reason}")

    def _check_turn(self) -> None:
        if self.turn_refresh_s is not None and self.turn_refresh_s >= self.turn_ttl_s:
            raise ValueError(
                f"DUET_TURN_REFRESH_S ({self.turn_refresh_s:g} s) must be shorter than DUET_TURN_TTL_S "
                f"({self.turn_ttl_s} s): fresh credentials must arrive before the old ones expire"
            )
        if not self.turn_urls:
            return
        secret = self.turn_secret.get_secret_value() if self.turn_secret else ""
        if not secret:
            raise IncompleteTurnSettings(
                "DUET_TURN_URLS needs DUET_TURN_SECRET, the TURN server's static-auth-secret"
            )
        reason = weakness(secret) if self.env == "production" else None
        if reason:
            raise WeakSecretError(
                "DUET_TURN_SECRET must be a strong random secret in production (anyone who knows it can "
                f"relay through your TURN server): {reason}"
            )

    def _check_phone(self) -> None:
        if self.phone_provider == "none":
            return
        if not self.phone_dial_in:
            raise IncompletePhoneSettings(
                f"DUET_PHONE_PROVIDER={self.phone_provider} needs DUET_PHONE_DIAL_IN, the bridge's number "
                "in E.164 form (e.g. +14155550100)"
            )
        if self.phone_call_me_typed and not self.phone_call_countries:
            raise IncompletePhoneSettings(
                "DUET_PHONE_CALL_ME_TYPED needs DUET_PHONE_CALL_COUNTRIES, the countries a typed number "
                'may be in (JSON, e.g. ["US", "CA"])'
            )
        if self.phone_provider == "console" and self.env == "production":
            raise IncompletePhoneSettings(
                "DUET_PHONE_PROVIDER=console places no real calls; use twilio (or none) in production"
            )
        if self.phone_provider == "twilio":
            missing = [
                name
                for name, value in (
                    ("DUET_TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                    (
                        "DUET_TWILIO_AUTH_TOKEN",
                        self.twilio_auth_token and self.twilio_auth_token.get_secret_value(),
                    ),
                )
                if not value
            ]
            if missing:
                raise IncompletePhoneSettings(f"DUET_PHONE_PROVIDER=twilio needs {' and '.join(missing)}")
            if self.env == "production" and not self.public_url.startswith("https://"):
                raise IncompletePhoneSettings(
                    "DUET_PUBLIC_URL must be the https:// address Twilio calls: its webhooks are "
                    "signed over that URL"
                )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to any address


def signing_secret(settings: Settings) -> str:
    """The secret that signs join tokens: the configured one, or one kept in ``data_dir``.

    Outside production a missing secret is generated once and stored (mode 0600), so
    join links stay valid across restarts.
    """
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.touch(mode=0o600)
    path.write_text(secret)
    return secret


def policy_config(settings: Settings) -> PolicyConfig:
    """The fallback policy's timings, as configured."""
    return PolicyConfig(
        video_poor_s=settings.fallback_video_poor_s,
        audio_bad_s=settings.fallback_audio_bad_s,
        recovery_s=settings.fallback_recovery_s,
        cooldown_s=settings.fallback_cooldown_s,
        connection_down_s=settings.fallback_connection_down_s,
        reports_stale_s=settings.fallback_reports_stale_s,
        report_interval_s=settings.stats_interval_s,
    )
