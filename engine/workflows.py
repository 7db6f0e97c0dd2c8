"""The per-process cache of live workflows, so that a step on an unchanged instance skips loading its state.

The cache is bounded by an estimate of the memory its workflows hold: a live
workflow (task objects, their data, the serializer's cached task text) takes
about six times the length of its stored state, measured over the online-signing
flow (``MEMORY_PER_STATE_CHAR``); a count bound stays as a second limit.

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


# Memory a cached workflow holds per character of its stored state (tracemalloc over loaded workflows
# of the online-signing flow at the signing stage: 6.2).
MEMORY_PER_STATE_CHAR = 6
DEFAULT_CACHE_BYTES = 128 * 1024 * 1024


class WorkflowCache:
    """instance id → (row version, workflow, snapshot of its visible state, estimated bytes), least
    recently used out once the entries hold more than ``max_bytes`` or number more than ``size``."""

    def __init__(self, size: int = 512, max_bytes: int = DEFAULT_CACHE_BYTES):
        self._entries: OrderedDict[int, tuple[int, Any, Snapshot, int]] = OrderedDict()
        self._size = size
        self.max_bytes = max_bytes
        self.bytes = 0  # estimated memory of the cached workflows

    def take(self, instance_id: int, version: int) -> tuple[Any, Snapshot] | None:
        """The cached workflow if the row is still at ``version``; the entry leaves the cache either way
        (a step owns its workflow until it puts it back with :meth:`remember`)."""
        cached = self._pop(instance_id)
        if cached is None or cached[0] != version:
            return None
        return cached[1], cached[2]

    def remember(self, instance_id: int, version: int, workflow: Any, snap: Snapshot, state_chars: int = 0) -> None:
        """Keep ``workflow`` as of row ``version``; ``state_chars``: the length of the state just stored."""
        cached = _cached_in_transaction.get()
        if cached is not None:
            cached.append(instance_id)
        self._pop(instance_id)
        cost = state_chars * MEMORY_PER_STATE_CHAR
        if cost > self.max_bytes:
            return  # one workflow larger than the whole cache: read it from the database each time
        self._entries[instance_id] = (version, workflow, snap, cost)
        self.bytes += cost
        while len(self._entries) > self._size or self.bytes > self.max_bytes:
            _, (_, _, _, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped

    def drop(self, instance_id: int) -> None:
        self._pop(instance_id)

    def __len__(self) -> int:
        return len(self._entries)

    def _pop(self, instance_id: int) -> tuple[int, Any, Snapshot, int] | None:
        cached = self._entries.pop(instance_id, None)
        if cached is not None:
            self.bytes -= cached[3]
        return cached

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
