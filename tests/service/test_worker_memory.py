"""What a web worker keeps in memory: only the libraries its requests use (bench/http_load.py measures it)."""

import subprocess
import sys

WORKER = """
import sys
from referral import create_app
from workflows.durations import is_known_calendar
app = create_app({"SECRET_KEY": "memory-test", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
assert is_known_calendar("KZ") and not is_known_calendar("XX")
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in ("authlib", "requests")
                      or name.startswith("holidays.countries"))))
"""


def test_an_app_without_single_sign_on_loads_no_oidc_client_nor_every_country():
    loaded = subprocess.run([sys.executable, "-c", WORKER], capture_output=True, text=True, check=True).stdout
    assert loaded.split() == []
