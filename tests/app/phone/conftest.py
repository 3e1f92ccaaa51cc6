"""Fixtures of the phone bridge tests: Twilio's REST API on a local port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from twilio_stand_in import FakeTwilio, running_fake_twilio


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with running_fake_twilio() as fake:
        yield fake
