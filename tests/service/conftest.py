"""The service tests run on the app: its fixtures are in tests/appfixtures.py."""

from tests.appfixtures import *  # noqa: F403 - pytest finds fixtures by name
