"""The thin Flask layer: citizen portal, staff inbox, admin pages, REST API and the sandbox pages
of external systems. No business rule lives here: views call the engine and the handlers."""
from .app import create_app

__all__ = ["create_app"]
