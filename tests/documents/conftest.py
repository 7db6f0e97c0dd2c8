from tests.processes.conftest import accounts, engine_factory, harness, registry, services  # noqa: F401  (shared fixtures)
