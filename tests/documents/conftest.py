from tests.processes.conftest import accounts, engine_factory, harness, registry  # noqa: F401  (shared fixtures)
