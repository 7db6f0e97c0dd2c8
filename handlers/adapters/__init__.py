"""Adapters to the external systems. Each has an abstract interface and a sandbox that really works here."""
