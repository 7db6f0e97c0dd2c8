"""The workflow cache is bounded by the memory its workflows hold, estimated from their stored state."""
from __future__ import annotations

from engine.snapshot import Snapshot
from engine.workflows import MEMORY_PER_STATE_CHAR, WorkflowCache

STATE = 40_000  # characters of stored state: a contract at the signing stage
ONE = STATE * MEMORY_PER_STATE_CHAR


def test_least_recently_used_workflows_leave_when_the_bytes_are_used_up():
    cache = WorkflowCache(size=100, max_bytes=3 * ONE)
    for instance_id in (1, 2, 3):
        cache.remember(instance_id, 1, object(), Snapshot(), STATE)
    assert cache.take(1, 1) is not None  # 1 is taken by a step ...
    cache.remember(1, 2, object(), Snapshot(), STATE)  # ... and put back: now the most recent
    cache.remember(4, 1, object(), Snapshot(), STATE)
    assert len(cache) == 3 and cache.bytes == 3 * ONE
    assert cache.take(2, 1) is None  # the least recently used went
    assert cache.take(3, 1) is not None and cache.take(4, 1) is not None and cache.take(1, 2) is not None
    assert cache.bytes == 0


def test_a_growing_workflow_pushes_others_out_and_one_too_large_is_not_kept():
    cache = WorkflowCache(size=100, max_bytes=3 * ONE)
    cache.remember(1, 1, object(), Snapshot(), STATE)
    cache.remember(2, 1, object(), Snapshot(), STATE)
    cache.remember(2, 2, object(), Snapshot(), 2 * STATE)  # the same instance, a larger state
    assert cache.bytes == 3 * ONE and len(cache) == 2
    cache.remember(3, 1, object(), Snapshot(), 4 * STATE)
    assert cache.take(3, 1) is None  # larger than the whole cache: read from the database each time
    assert len(cache) == 2 and cache.bytes == 3 * ONE  # and nothing else was pushed out for it
    cache.drop(1)
    cache.drop(2)
    assert cache.bytes == 0


def test_the_count_bound_still_holds():
    cache = WorkflowCache(size=2, max_bytes=100 * ONE)
    for instance_id in (1, 2, 3):
        cache.remember(instance_id, 1, object(), Snapshot(), STATE)
    assert len(cache) == 2 and cache.bytes == 2 * ONE and cache.take(1, 1) is None
