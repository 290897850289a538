"""`clock.at`: code that writes history (the demo) sets the time for a block."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loket.core import clock


def test_at_sets_the_time_for_the_block_only() -> None:
    moment = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    with clock.at(moment):
        assert clock.now() == moment
        later = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)
        with clock.at(later):
            assert clock.now() == later
        assert clock.now() == moment
    assert clock.now() > moment


def test_at_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="aware"), clock.at(datetime(2026, 3, 2, 8, 0)):  # noqa: DTZ001
        pass
