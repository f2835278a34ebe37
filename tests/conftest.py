"""Fixtures every test may use, pure ones only: the app's fixtures are in tests/appfixtures.py."""

import pytest


@pytest.fixture(scope="session")
def billion_laughs():
    """A 1 KB workflow file whose nine levels of nine aliases would expand to 387 million strings."""
    lines = ["key: laughs", "name: Laughs", 'a0: &a0 "lol"']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)]
    return "\n".join(lines) + "\n"
