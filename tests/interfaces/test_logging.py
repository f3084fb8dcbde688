from __future__ import annotations

import json
from typing import Any

import pytest
import structlog

from interfaces.logging import REDACTED, configure_logging, get_logger


def test_phi_is_redacted_from_json_logs(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    structlog.reset_defaults()
    configure_logging("INFO")
    get_logger("t").info(
        "client_registered",
        client_id="c-1",
        first_name="Zanzibar",
        payload={"last_name": "Quetzal", "address": {"city": "Macon"}, "status": "active"},
        items=[{"date_of_birth": "1990-01-01", "care_level": "basic"}],
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record: dict[str, Any] = json.loads(line)
    assert "Zanzibar" not in line and "Quetzal" not in line and "Macon" not in line and "1990-01-01" not in line
    assert record["first_name"] == REDACTED and record["payload"]["last_name"] == REDACTED
    assert record["payload"]["status"] == "active" and record["items"][0]["care_level"] == "basic"
    assert record["client_id"] == "c-1" and record["event"] == "client_registered" and record["level"] == "info"
    structlog.reset_defaults()
