"""The ``netsign`` console command: Flask's command group over :func:`web.app.create_app`.

Kept apart from :mod:`web.cli` (the commands themselves, which the app factory registers),
so that the factory and the commands never import each other.
"""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from .app import create_app
from .config import ConfigError


def _create_app(*_args, **_kwargs):
    try:
        return create_app()
    except ConfigError as err:
        # A refusal is for the operator: one line, no traceback, a non-zero exit.
        click.echo(str(err), err=True)
        sys.exit(2)


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=True,
             help="存量房买卖合同网签备案: manage the database, processes, tasks and the worker.")
def main():
    pass


if __name__ == "__main__":
    main()
