"""The production server's own process: ``python -m referral.serving HOST PORT WORKERS THREADS``.

``referral serve`` checks the configuration, then becomes this process (exec): it imports the app and gunicorn
and nothing of the CLI. Every worker is forked from it and keeps, in its resident memory, all that it imported:
from the CLI's process they kept Flask-Migrate with Alembic and the scheduler too.
"""

import sys

from . import create_app
from .server import serve


def main(argv: list[str]) -> None:
    """Serve the app with gunicorn until stopped (the arguments are ``referral serve``'s)."""
    host, port, workers, threads = argv
    serve(create_app, host, int(port), int(workers), int(threads))


if __name__ == "__main__":
    main(sys.argv[1:])
