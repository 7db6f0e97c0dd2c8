"""Finished loop iterations leave the live state, so a loop costs the same in its 20th round as in its first.

SpiffWorkflow 3.2 keeps everything an instance ever did: a sequence flow that leads
back to an earlier element adds new tasks *below* the last one, so the task tree of
a loop is a chain that grows by a whole iteration each round, and every call
activity leaves its finished subworkflow in ``workflow.subprocesses`` for good.
Each step walks, stores and (after a restart) parses all of it.

After every step :func:`prune_loops` cuts the finished earlier iterations out of
each chain.  Walking down from the root to a live task, the first task ``X`` whose
element was already passed (at ``A``) is where the loop re-entered; the tasks from
``A`` down to the grandparent of ``X`` are the earlier pass.  They are removed, with
the subworkflows started from them, and the parent of ``X`` (the last task of the
earlier pass, so the flow that led back stays visible, as path coverage reads it)
is hung under ``A``'s parent.  That grafted task is recognised in the next round
(its element is no output of its parent's) and goes with that round, so the chain
stays one iteration long after any number of rounds.

Only history is removed: a pass is cut only when every task in it, and everything
hanging off it, is finished (COMPLETED or CANCELLED), the subworkflows started from
it are completed, and the workflow's ``last_task`` is not in it; otherwise the step
stores everything and a later step tries again.  What the instance did stays in
the audit trail (the ``nodes_completed`` rows name every node each step passed).
Joins, boundary events and gateways look only at the current pass: ``find_ancestor``
returns the nearest ancestor, which is never in a pruned pass.  The conformance
diagrams ``c_loop_back*`` run loops through call activities, a parallel split and a
boundary event against SpiffWorkflow alone.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from SpiffWorkflow.util.task import TaskState

_FINISHED = TaskState.COMPLETED | TaskState.CANCELLED
_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED | TaskState.ERROR

# Called with (the spec's file name, the tasks about to leave, still in their tree) before a pass is
# cut: the test harness's path coverage (engine.pytest_plugin) counts the flows taken in earlier passes.
observers: list[Callable[[str | None, list[Any]], None]] = []


def prune_loops(workflow: Any) -> int:
    """Remove finished earlier loop iterations from every (sub)workflow; the number of tasks removed."""
    removed = 0
    for sub in [workflow, *workflow.subprocesses.values()]:
        # Without more tasks than elements no element can occur twice on a path: nothing to look for.
        if sub.completed or len(sub.tasks) <= len(sub.spec.task_specs):
            continue
        if sub is not workflow and workflow.subprocesses.get(sub.parent_task_id) is not sub:
            continue  # started from a task removed a moment ago
        while True:
            count = _prune_one(workflow, sub)
            if not count:
                break
            removed += count
    return removed


def _chain(task: Any) -> list[Any]:
    """``task`` and its ancestors, root first."""
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    chain.reverse()
    return chain


def _grafted(task: Any, parent: Any) -> bool:
    """Whether ``task`` hangs under ``parent`` because a pruning put it there (Spiff creates a child only
    for an output of its parent's element)."""
    return task.task_spec not in parent.task_spec.outputs


def _earlier_pass(chain: list[Any]) -> tuple[int, int] | None:
    """(first, keep): ``chain[first:keep]`` is a finished earlier pass of a loop and ``chain[keep]`` the
    last task before the loop led back; None if the chain holds no earlier pass."""
    seen: dict[Any, int] = {}
    for index in range(1, len(chain)):
        task = chain[index]
        if _grafted(task, chain[index - 1]):
            continue  # the kept task of the round before: not a pass of its element
        earlier = seen.get(task.task_spec)
        if earlier is None:
            seen[task.task_spec] = index
            continue
        first, keep = earlier, index - 1
        if first > 1 and _grafted(chain[first - 1], chain[first - 2]):
            first -= 1  # the kept task of the round before goes with its round
        return (first, keep) if keep > first else None
    return None


def _prune_one(top: Any, sub: Any) -> int:
    for live in [t for t in sub.tasks.values() if t.state & _LIVE]:
        chain = _chain(live)
        found = _earlier_pass(chain)
        if found is None:
            continue
        first, keep = found
        doomed = _removable(sub, chain[first:keep], chain[keep])
        if doomed is None:
            continue
        subprocesses = _subprocesses_under(top, doomed)
        if subprocesses is None:
            continue
        for observe in observers:
            observe(sub.spec.file, [*doomed, chain[keep]])
            for child in subprocesses:
                observe(child.spec.file, list(child.tasks.values()))
        _cut(top, sub, chain[first - 1], chain[first], chain[keep], doomed, subprocesses)
        return len(doomed)
    return 0


def _removable(sub: Any, segment: list[Any], keep: Any) -> list[Any] | None:
    """Every task of ``segment`` and of the branches hanging off it, if all of it is finished history."""
    on_chain = {t.id for t in segment} | {keep.id}
    doomed: list[Any] = []
    stack = list(segment)
    while stack:
        task = stack.pop()
        if not task.state & _FINISHED or task is sub.last_task:
            return None
        doomed.append(task)
        stack.extend(child for child in task.children if child is not None and child.id not in on_chain)
    return doomed


def _subprocesses_under(top: Any, tasks: Iterable[Any]) -> list[Any] | None:
    """The subworkflows started from ``tasks`` and, recursively, from theirs; None if one is still running."""
    found = []
    stack = [t.id for t in tasks]
    while stack:
        sub = top.subprocesses.get(stack.pop())
        if sub is None:
            continue
        if not sub.completed:
            return None
        found.append(sub)
        stack.extend(sub.tasks)
    return found


def _cut(top: Any, sub: Any, parent: Any, first: Any, keep: Any, doomed: list[Any],
         subprocesses: list[Any]) -> None:
    """Hang ``keep`` where ``first`` was; drop the ``doomed`` tasks and the ``subprocesses`` started there."""
    parent._children = [keep.id if c == first.id else c for c in parent._children]
    keep._parent = parent.id
    for task in doomed:
        del sub.tasks[task.id]
        top.event_manager.remove_task(task)
    for child in subprocesses:
        top.subprocesses.pop(child.parent_task_id, None)
    # The stored text of unchanged tasks (engine.serialization) assumed the old parents.
    top._netsign_fragments = None
