"""The browser fixtures (a live server on the test database, Debian's Chromium) for every browser test."""
from .test_walkthrough import browser, live_server  # noqa: F401
