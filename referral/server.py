"""The production WSGI server (gunicorn), started by ``referral serve`` and ``referral demo``."""

import os
import re
from collections.abc import Callable

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

#: Paths whose last part is a secret (the calendar feed): the log keeps the route, never the key.
_SECRET_PATH = re.compile(r"(/calendar/)[^/?\s]+(\.ics)")


def redact(text: str | None) -> str | None:
    """Return a request line or path with any calendar feed secret replaced by ``[secret]``."""
    return _SECRET_PATH.sub(r"\1[secret]\2", text) if text else text


class RedactingLogger(Logger):
    """Gunicorn's logger, with secrets taken out of the logged path and request line."""

    def atoms(self, resp, req, environ, request_time):
        """Return the log atoms of a request, secrets redacted."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            atoms[key] = redact(atoms.get(key))
        return atoms


class Server(BaseApplication):
    """Gunicorn with its options given in code; each worker builds its own app."""

    def __init__(self, app_factory: Callable, options: dict):
        self.app_factory = app_factory
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        return self.app_factory()


def serve(app_factory: Callable, host: str, port: int, workers: int, threads: int, **extra) -> None:
    """Serve the app until stopped.

    Threads (gthread) let a worker answer one request while others wait on PostgreSQL, which is about half
    of a worker's time on an API read; processes cost their memory each. The default, 2 workers × 4 threads,
    fits two cores (README, *Production*).
    """
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        # Keep-alive past the proxy's or client's next request; gunicorn's 2 s closes many idle connections.
        "keepalive": 5,
        # The heartbeat file each worker touches per request: in memory, never on a slow or full disk.
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
        "accesslog": "-",
        # Query strings may carry search terms; log the path only.
        "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss',
        "logger_class": RedactingLogger,
        "errorlog": "-",
        "timeout": 60,
        "forwarded_allow_ips": extra.pop("forwarded_allow_ips", "127.0.0.1"),
        **extra,
    }
    Server(app_factory, options).run()
