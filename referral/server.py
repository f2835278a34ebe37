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


#: Sync workers per core. A worker waits on PostgreSQL for about a third of an API read; three per core keep
#: the cores busy meanwhile (bench/http_load.py, 10 connections on 2 cores: 6 × 1 answered about as many
#: requests as 2 workers × 4 threads, 3 × 2 or 3 × 3, with the lowest 99th percentile).
WORKERS_PER_CORE = 3


def default_workers() -> int:
    """Return the number of sync workers ``referral serve`` starts unless told: three per core."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def serve(app_factory: Callable, host: str, port: int, workers: int, threads: int, **extra) -> None:
    """Serve the app until stopped.

    One thread per worker is gunicorn's sync worker: the kernel hands each new connection to a free worker,
    and none waits behind another request in the same process. Threads (gthread, ``threads`` > 1) keep a
    client's connection open in the worker that accepted it: with few busy clients some workers queue their
    requests while others idle, and threads of one process share one interpreter lock, so the slowest
    answers took up to twice as long (README, *Production*). The sync worker answers one request per
    connection, which is what the HTTPS reverse proxy in front of it expects.
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
