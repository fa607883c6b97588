"""Checks on the values users send (through the UI, the API or Python), shared by every capability;
each capability words its own message."""
from __future__ import annotations

import math


def is_number_between(value, low: float = -math.inf, high: float = math.inf) -> bool:
    """A finite int or float (not a bool, not NaN) with low ≤ value ≤ high."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            and low <= value <= high)
