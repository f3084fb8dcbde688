"""Pytest fixtures for the stand-ins.

A conftest under tests/standins/ would only apply to tests in that folder, so import the fixture
where you need it, in a test module or a conftest:

    from tests.standins.fixtures import twilio_standin  # noqa: F401

    def test_sends(twilio_standin: TwilioStandin) -> None:
        sms = TwilioSms(twilio_standin.account_sid, twilio_standin.auth_token, "+15005550006",
                        api_base=twilio_standin.base_url)
        sms.send("+15551230001", "hello")
        assert twilio_standin.sent_to("+15551230001")[0]["body"] == "hello"

`twilio_standin.env()` gives the CARELEDGER_TWILIO_* variables for a subprocess (a worker) that
should send through it; the subprocess reaches it over TCP like any client. For a stand-in in its
own process see `python -m tests.standins.twilio_server --help` and `standin_process`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.standins.stripe_server import StripeStandin
from tests.standins.twilio_server import TwilioStandin

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def twilio_standin() -> Iterator[TwilioStandin]:
    """A fresh Twilio stand-in on a free local port, stopped after the test."""
    with TwilioStandin() as standin:
        yield standin


@pytest.fixture
def stripe_standin() -> Iterator[StripeStandin]:
    """A fresh Stripe stand-in on a free local port (`api_key`, `webhook_secret`, `base_url`),
    stopped after the test. Import it like `twilio_standin`."""
    with StripeStandin() as standin:
        yield standin


@contextmanager
def standin_process(record: Path, port: int = 0) -> Iterator[dict[str, Any]]:
    """Run the stand-in as a separate process; yields its `base_url`, `account_sid`, `auth_token`
    (and `process`). Accepted messages are in the JSON list at `record`."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.standins.twilio_server", "--port", str(port), "--record", str(record)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        info: dict[str, Any] = json.loads(proc.stdout.readline())
        info["process"] = proc
        yield info
    finally:
        proc.terminate()
        proc.wait(timeout=10)
