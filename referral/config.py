"""Configuration read from the environment."""

import os
import zoneinfo
from datetime import timedelta
from pathlib import Path

import orjson
import sqlalchemy as sa
from flask.json.provider import DefaultJSONProvider


class ConfigurationError(RuntimeError):
    """The service cannot start with the configuration it was given."""


def from_environment(instance_path: str) -> dict:
    """Return the settings taken from ``REFERRAL_*`` environment variables."""
    default_db = "sqlite:///" + str(Path(instance_path) / "referral.sqlite3")
    settings = {
        "SQLALCHEMY_DATABASE_URI": os.environ.get("REFERRAL_DATABASE_URL") or default_db,
        "SECRET_KEY": os.environ.get("REFERRAL_SECRET_KEY"),
        "REFERRAL_TIMEZONE": os.environ.get("REFERRAL_TIMEZONE") or "Asia/Almaty",
        "REFERRAL_SMTP_URL": os.environ.get("REFERRAL_SMTP_URL"),
        "REFERRAL_MAIL_FROM": os.environ.get("REFERRAL_MAIL_FROM", "referral@localhost"),
        "REFERRAL_BASE_URL": os.environ.get("REFERRAL_BASE_URL", "http://127.0.0.1:5000"),
    }
    for name in ("REFERRAL_OIDC_ISSUER", "REFERRAL_OIDC_CLIENT_ID", "REFERRAL_OIDC_CLIENT_SECRET",
                 "REFERRAL_OIDC_NAME"):
        if os.environ.get(name):
            settings[name] = os.environ[name]
    if os.environ.get("REFERRAL_WEBHOOK_ALLOW_PRIVATE") == "1":
        settings["REFERRAL_WEBHOOK_ALLOW_PRIVATE"] = True
    idle = os.environ.get("REFERRAL_SESSION_IDLE_MINUTES", "")
    if idle.isdigit() and int(idle) > 0:
        settings["REFERRAL_SESSION_IDLE_MINUTES"] = int(idle)
    body = os.environ.get("REFERRAL_MAX_BODY_MB", "")
    if body.isdigit() and int(body) > 0:
        settings["REFERRAL_MAX_BODY_MB"] = int(body)
    for name in ("REFERRAL_SWEEP_BATCH", "REFERRAL_OUTBOX_LEASE_SECONDS", "REFERRAL_OUTBOX_PER_DESTINATION",
                 "REFERRAL_OUTBOX_WORKERS", "REFERRAL_WEBHOOK_TIMEOUT_SECONDS", "REFERRAL_WEBHOOK_SECRET_GRACE_HOURS",
                 "REFERRAL_AUDIT_SEAL_BATCH", "REFERRAL_AUDIT_SEAL_LAG_SECONDS", "REFERRAL_REPORT_EXACT_UP_TO"):
        value = os.environ.get(name, "")
        if value.isdigit() and int(value) > 0:
            settings[name] = int(value)
    hour = os.environ.get("REFERRAL_DIGEST_HOUR", "")
    if hour.isdigit() and int(hour) < 24:
        settings["REFERRAL_DIGEST_HOUR"] = int(hour)
    if os.environ.get("REFERRAL_INSECURE_COOKIES") == "1":
        settings["SESSION_COOKIE_SECURE"] = False
        settings["REMEMBER_COOKIE_SECURE"] = False
    return settings


def json_text(value) -> str:
    """Return the text of a JSON column's value, written by orjson; keys that are not strings become strings,
    as the standard library's encoder makes them.

    Every act writes JSON (the audit detail, the timeline event, the notification's parameters) and the
    scheduler reads it back (a deadline's reminders and what fired): orjson reads and writes it several times
    faster than the standard library, the same values in and out.
    """
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON (``jsonify``, API answers) written by orjson, as Flask writes it.

    The same document: keys sorted, compact; dates, decimals, UUIDs, dataclasses and lazy texts through
    Flask's own ``default``. Only non-ASCII text differs, written as UTF-8 rather than ``\\u`` escapes. A
    caller's own options go to the standard library as before: ``indent`` in debug mode, and the templates'
    ``tojson``, which asks for sorted keys.
    """

    OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
               | orjson.OPT_PASSTHROUGH_DATACLASS)
    _COMPACT = {"separators": (",", ":")}

    def dumps(self, obj, **kwargs) -> str:
        """Return the JSON text of ``obj`` (compact, as ``response`` asks outside debug mode)."""
        if kwargs and kwargs != self._COMPACT:
            return super().dumps(obj, **kwargs)
        return orjson.dumps(obj, default=self.default, option=self.OPTIONS).decode()


DEFAULTS = {
    # Parameters may hold personal data: keep them out of error messages and logs.
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True, "json_serializer": json_text,
                                  "json_deserializer": orjson.loads},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Production sits behind HTTPS; the demo and tests turn this off.
    "SESSION_COOKIE_SECURE": True,
    "REMEMBER_COOKIE_SECURE": True,
    "WTF_CSRF_TIME_LIMIT": None,
    "BOOTSTRAP_SERVE_LOCAL": True,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_TRANSLATION_DIRECTORIES": "translations",
    "LANGUAGES": ("en", "ru", "kk"),
    "API_TITLE": "Referral engine",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}],
    },
    #: Failed logins within LOCKOUT_WINDOW that lock an account for LOCKOUT_DURATION.
    "LOCKOUT_THRESHOLD": 5,
    "LOCKOUT_WINDOW_MINUTES": 15,
    "LOCKOUT_DURATION_MINUTES": 15,
    #: Failed logins from one client address within LOCKOUT_WINDOW after which the address is refused.
    "LOCKOUT_ADDRESS_THRESHOLD": 20,
    #: A browser session ends after this many idle minutes, and after 12 hours in any case.
    "REFERRAL_SESSION_IDLE_MINUTES": 30,
    #: Webhooks may go to loopback, private and link-local addresses (closed networks, tests) when true.
    "REFERRAL_WEBHOOK_ALLOW_PRIVATE": False,
    #: Seconds a webhook receiver has to answer a call before it counts as failed (and is retried).
    "REFERRAL_WEBHOOK_TIMEOUT_SECONDS": 15,
    #: Hours the secret a rotation replaced still signs webhook calls beside the new one.
    "REFERRAL_WEBHOOK_SECRET_GRACE_HOURS": 24,
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    "PER_PAGE": 50,
    #: Deadlines a sweep claims and handles in one transaction, before it looks at the clock again.
    "REFERRAL_SWEEP_BATCH": 500,
    #: How long messages claimed by a scheduler that died wait before another takes them.
    "REFERRAL_OUTBOX_LEASE_SECONDS": 120,
    #: Messages sent at once to one destination (the SMTP server, one agency's webhook endpoint).
    "REFERRAL_OUTBOX_PER_DESTINATION": 2,
    #: Messages sent at once in all.
    "REFERRAL_OUTBOX_WORKERS": 8,
    #: Local hour (REFERRAL_TIMEZONE) from which the daily digest is sent; a scheduler down then sends it later.
    "REFERRAL_DIGEST_HOUR": 8,
    #: Audit entries the scheduler seals in one transaction.
    "REFERRAL_AUDIT_SEAL_BATCH": 1000,
    #: Audit entries younger than this are left for the next sealing run: a transaction may still commit a lower id.
    "REFERRAL_AUDIT_SEAL_LAG_SECONDS": 5,
    "MAX_PER_PAGE": 200,
    #: A report counting at most this many referrals computes its medians and p90s from every referral; above
    #: it, from the tallies' histograms on PostgreSQL (within 2.5 %, in a fraction of the time).
    "REFERRAL_REPORT_EXACT_UP_TO": 20000,
    #: Single sign-on: the OpenID provider's issuer URL (discovery at /.well-known/openid-configuration) and
    #: this service's client there; all three set, the login page offers it. None: passwords only.
    "REFERRAL_OIDC_ISSUER": None,
    "REFERRAL_OIDC_CLIENT_ID": None,
    "REFERRAL_OIDC_CLIENT_SECRET": None,
    #: The provider's name on the login page's button ("Sign in with …"); None: "Sign in with single sign-on".
    "REFERRAL_OIDC_NAME": None,
    #: Seconds the provider has to answer discovery, the token exchange and the key set.
    "REFERRAL_OIDC_TIMEOUT_SECONDS": 10,
    #: Request bodies above this many megabytes are refused with 413.
    "REFERRAL_MAX_BODY_MB": 2,
}


def check(config) -> None:
    """Raise ConfigurationError for a configuration the service cannot run with."""
    if not config.get("SECRET_KEY"):
        raise ConfigurationError(
            "REFERRAL_SECRET_KEY is not set: set it to a long random string "
            "(for example: python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    try:
        sa.engine.make_url(config["SQLALCHEMY_DATABASE_URI"])
    except sa.exc.ArgumentError as error:
        raise ConfigurationError(
            "REFERRAL_DATABASE_URL is not a database URL "
            "(expected e.g. postgresql+psycopg://user@host:5432/name or sqlite:///path)"
        ) from error
    oidc = [name for name in ("REFERRAL_OIDC_ISSUER", "REFERRAL_OIDC_CLIENT_ID", "REFERRAL_OIDC_CLIENT_SECRET")
            if config.get(name)]
    if oidc and len(oidc) < 3:
        raise ConfigurationError(
            "single sign-on needs REFERRAL_OIDC_ISSUER, REFERRAL_OIDC_CLIENT_ID and REFERRAL_OIDC_CLIENT_SECRET "
            "together; only " + ", ".join(oidc) + " is set")
    if config.get("REFERRAL_OIDC_ISSUER") and not config["REFERRAL_OIDC_ISSUER"].startswith(("https://", "http://")):
        raise ConfigurationError("REFERRAL_OIDC_ISSUER must be the provider's https:// URL")
    try:
        zoneinfo.ZoneInfo(config["REFERRAL_TIMEZONE"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigurationError(
            f"REFERRAL_TIMEZONE={config['REFERRAL_TIMEZONE']!r} is not a known time zone"
        ) from error
