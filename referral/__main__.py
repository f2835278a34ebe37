"""Allow ``python -m referral``."""

from .cli import main

main()
