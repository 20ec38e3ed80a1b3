"""What the vendors' version numbers share: a version is its numbers, read by
the first of its kind's patterns that matches (a part that is not written is 0)."""

from __future__ import annotations

import re
from collections.abc import Sequence


def read_numbers(text: str, patterns: Sequence[re.Pattern[str]]) -> tuple[int, ...] | None:
    """The numbers of `text` by the first pattern it matches, or None."""
    for pattern in patterns:
        m = pattern.match(str(text).strip())
        if m:
            return tuple(int(group or 0) for group in m.groups())
    return None
