from tests.processes.conftest import accounts, engine_factory, registry, services  # noqa: F401  (shared fixtures)
