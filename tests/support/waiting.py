"""Waiting for something that happens in another thread or process: poll, with a deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_for(condition: Callable[[], Any], timeout: float, message: str = "",
             interval: float = 0.05) -> Any:
    """Poll ``condition`` until it is truthy; its value, or AssertionError after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(message or f"condition not met in {timeout} s")
        time.sleep(interval)
