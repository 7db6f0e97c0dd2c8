"""A worker process for the concurrency test: drain the due timers as `worker --once` does; print how many."""
import sys
import time

from engine import ProcessEngine, worker
from engine.testing import create_sa_engine, new_session_factory
from tests.engine.conftest import make_registry
from tests.engine.conformance.runners import make_registry as conformance_registry

if __name__ == "__main__":
    url, start_at = sys.argv[1], float(sys.argv[2])
    registry = conformance_registry() if sys.argv[3:] == ["conformance"] else make_registry()
    engine = ProcessEngine(new_session_factory(create_sa_engine(url)), registry)
    while time.time() < start_at:  # start both workers together
        time.sleep(0.005)
    # The worker's own loop (what `netsign worker --once` runs): drain until nothing due is left.
    print(worker.run(engine, once=True)["timers"])
