"""The thin Flask layer: citizen portal, staff inbox, admin pages, REST API and the sandbox pages
of external systems. No business rule lives here: a view parses the request, calls one use case
of ``handlers.usecases`` and renders what it returns."""
from .app import create_app

__all__ = ["create_app"]
