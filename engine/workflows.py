"""The per-process cache of live workflows, so that a step on an unchanged instance skips loading its state.

An entry is only as good as the transaction that wrote it: a step whose commit
fails must be read from the database again, so every entry a transaction adds is
tracked and dropped if that transaction rolls back.
"""
from __future__ import annotations

import contextvars
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .snapshot import Snapshot

# Instances whose workflow the current transaction put in a cache: dropped again if it fails to commit.
_cached_in_transaction: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "cached_in_tx", default=None)


class WorkflowCache:
    """instance id → (row version, workflow, snapshot of its visible state), least recently used out."""

    def __init__(self, size: int = 512):
        self._entries: OrderedDict[int, tuple[int, Any, Snapshot]] = OrderedDict()
        self._size = size

    def take(self, instance_id: int, version: int) -> tuple[Any, Snapshot] | None:
        """The cached workflow if the row is still at ``version``; the entry leaves the cache either way
        (a step owns its workflow until it puts it back with :meth:`remember`)."""
        cached = self._entries.pop(instance_id, None)
        if cached is None or cached[0] != version:
            return None
        return cached[1], cached[2]

    def remember(self, instance_id: int, version: int, workflow: Any, snap: Snapshot) -> None:
        cached = _cached_in_transaction.get()
        if cached is not None:
            cached.append(instance_id)
        self._entries[instance_id] = (version, workflow, snap)
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def drop(self, instance_id: int) -> None:
        self._entries.pop(instance_id, None)

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Forget what the block cached if it raises: the database is the truth, and a row version
        alone would not tell, if another writer reached the same version."""
        cached: list[int] = []
        token = _cached_in_transaction.set(cached)
        try:
            yield
        except BaseException:
            for instance_id in cached:
                self.drop(instance_id)
            raise
        finally:
            _cached_in_transaction.reset(token)
