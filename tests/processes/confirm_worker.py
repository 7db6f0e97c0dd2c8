"""A process for the home-lock test: at a given moment, confirm the home of one started signing flow."""
import sys
import time

from engine.testing import create_sa_engine, new_session_factory
from handlers.bootstrap import Settings, bootstrap

if __name__ == "__main__":
    url, start_at, task_id, actor = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
    services = bootstrap(new_session_factory(create_sa_engine(url)), Settings())
    while time.time() < start_at:  # both processes step at the same moment
        time.sleep(0.002)
    result = services.engine.complete_task(task_id, {}, actor)
    print(result.end_event or "继续签约")
