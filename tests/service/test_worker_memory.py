"""What a web worker keeps in memory: only the libraries its requests use (bench/http_load.py measures it)."""

import subprocess
import sys

SERVER = """
import sys
from referral import create_app, serving
from workflows.durations import is_known_calendar
app = create_app({"SECRET_KEY": "memory-test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
assert is_known_calendar("KZ") and not is_known_calendar("XX")
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in UNUSED
                      or name.startswith("holidays.countries"))))
"""


def test_the_server_process_loads_no_migrations_scheduler_oidc_client_nor_every_country():
    unused = ("alembic", "flask_migrate", "apscheduler", "authlib", "requests")
    program = f"UNUSED = {unused!r}\n{SERVER}"
    loaded = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
