"""Fixtures and helpers of the tests that need the app: a fresh database per test, factories, real peers.

The conftest files of tests/service and tests/browser take them in, so that the pure tests (tests/workflows,
tests/agencies) import no Flask.
"""

import fcntl
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from flask_migrate import upgrade

from referral import create_app
from referral.actors import Actor
from referral.auth import service as accounts
from referral.auth.models import User
from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.directory.models import Agency
from referral.extensions import db


def _worker_database(url: str | None) -> str | None:
    """Return the PostgreSQL URL this pytest-xdist worker uses: its own database beside the one named."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    base = sa.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).scalar():
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


PG_URL = _worker_database(os.environ.get("REFERRAL_TEST_DATABASE_URL"))
PASSWORD = "correct horse battery"
BASE_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key",
    "WTF_CSRF_ENABLED": False,
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
}


class FreshContextClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Tests keep an app context open for factories and assertions; without this,
    requests would share its ``g`` (the signed-in user, the cached locale).
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def _migrated(url: str) -> None:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


#: Tables whose triggers refuse UPDATE, DELETE and TRUNCATE.
APPEND_ONLY_TABLES = ("audit_entries", "audit_seals", "events", "workflow_versions")


def _empty_postgresql(url: str) -> None:
    """Remove every row a test wrote and restart the sequences, as a fresh migrated database has them.

    DELETE with triggers off (``session_replication_role``, which a superuser may set) costs a few
    milliseconds on tables this small, where TRUNCATE creates new files for every table each time:
    it was a third of the PostgreSQL run.
    """
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).scalars().all()
        superuser = connection.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
        if not superuser:
            # The append-only tables refuse TRUNCATE by trigger; their owner may switch the triggers off meanwhile.
            append_only = [t for t in APPEND_ONLY_TABLES if t in tables]
            for table in append_only:
                connection.exec_driver_sql(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
            connection.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            for table in append_only:
                connection.exec_driver_sql(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in tables:
                connection.exec_driver_sql(f'DELETE FROM "{table}"')
            for sequence in connection.exec_driver_sql(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").scalars():
                connection.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
    engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """Build the schema once per session through the migrations; return how to get a fresh copy."""
    if PG_URL:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
        _migrated(PG_URL)
        return PG_URL
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    _migrated(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(template_database, tmp_path):
    """Return the URL of an empty, migrated database for one test."""
    if PG_URL:
        yield PG_URL
        _empty_postgresql(PG_URL)
    else:
        path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def make_app(database_url, tmp_path):
    """Return a factory of apps on this test's database, with config overrides."""
    apps = []

    def factory(**overrides):
        app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        app.test_client_class = FreshContextClient
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_agency(app):
    """Create an agency; unique code by default."""
    counter = iter(range(1, 10_000))

    def factory(type="social", region="KZ-71", code=None, is_active=True, **values) -> Agency:
        number = next(counter)
        values = {"name": f"Agency {number}", "contacts": [], "services": [], **values}
        agency = Agency(code=code or f"{type.replace('_', '-')}-{number}", type=type, region=region,
                        is_active=is_active, **values)
        db.session.add(agency)
        db.session.commit()
        return agency

    return factory


@pytest.fixture
def make_user(app, make_agency):
    """Create a user with a known password (PASSWORD)."""
    counter = iter(range(1, 10_000))

    def factory(role="staff", agency=None, email=None, password=PASSWORD, **values) -> User:
        agency = agency or make_agency()
        user = accounts.create_user(
            accounts.UserData(email=email or f"user{next(counter)}@example.org", name=values.pop("name", "Test User"),
                              agency_code=agency.code, role=role, password=password, **values),
            Actor.system_actor("test"),
        )
        db.session.commit()
        return user

    return factory


@pytest.fixture
def login_as(client):
    """Sign a user in on the test client."""

    def login(user, password=PASSWORD):
        response = client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login


@pytest.fixture
def token_for(app):
    """Return Authorization headers with a fresh API token for a user."""

    def make(user) -> dict:
        _, secret = accounts.create_token(user, Actor.system_actor("test"))
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return make


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashes():
    """Hash test passwords with Argon2's cheapest parameters: the production cost (~0.1 s a hash) is for attackers."""
    from argon2 import PasswordHasher

    from referral.auth import service

    real = service._hasher
    service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    service._hasher = real


class Inbox:
    """What the SMTP server of :func:`smtp_server` received, each message parsed, in order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler name
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"


@pytest.fixture
def smtp_server():
    """Run a real SMTP server (aiosmtpd) on a free port of 127.0.0.1; yield its inbox and ``smtp://`` URL."""
    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, f"smtp://127.0.0.1:{port}"
    controller.stop()


def at_once(app, works):
    """Run each callable in its own thread and connection, released together; return results or exceptions."""
    barrier = threading.Barrier(len(works))
    results = [None] * len(works)

    def worker(index):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = works[index]()
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test inspects what each thread got
                db.session.rollback()
                results[index] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def demo(app):
    """Load the demo agencies, users and cases."""
    load_demo_data()
    db.session.commit()


@pytest.fixture
def sign_in(client):
    """Return ``login(email, locale=None)``: sign a demo user in through the form, in a language if given."""

    def login(email: str, locale: str | None = None) -> FlaskClient:
        client.post("/logout")
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        if locale is not None:
            client.post("/language", data={"locale": locale, "next": "/"})
        return client

    return login


def demo_actor(email: str) -> Actor:
    """Return the actor of the demo user with this e-mail."""
    return Actor.of(db.session.scalar(sa.select(User).where(User.email == email)))


def stuck_case(region: str = "KZ-71"):
    """Register a demo case and complete its registration without referring it onward: nothing is open."""
    from referral.cases import service as cases
    from referral.referrals import service as referrals
    from referral.referrals.models import Referral

    social = demo_actor("social@demo.kz")
    child = cases.ChildData(given_name="Aigerim", family_name="Stuckova", sex="female", region=region,
                            estimated_age=10)
    case = cases.register_case("returned-child", "medium", child, social)
    first = db.session.scalar(sa.select(Referral).where(Referral.case_id == case.id))
    referrals.act(first.id, "complete", first.version, social, outcome="Registered; guardian found.")
    db.session.commit()
    return case


def asked_of_the_clinic():
    """Return a demo referral from the family support centre to the clinic, waiting for an answer (with consent)."""
    from datetime import date

    from referral.cases import service as cases
    from referral.referrals import service as referrals

    case = stuck_case()
    cases.record_consent(case.id, cases.ConsentData(given_by="Guardian", relationship_to_child="aunt",
                                                    agency_types=["health"], given_on=date.today()),
                         demo_actor("social@demo.kz"))
    referral = referrals.refer(case.id, "health-screening", "astana-childrens-clinic", "Check-up",
                               demo_actor("social@demo.kz"))
    db.session.commit()
    return referral


@pytest.fixture
def asked(demo):
    """A demo referral to the clinic, waiting for its answer (see ``asked_of_the_clinic``)."""
    return asked_of_the_clinic()


@pytest.fixture
def api(client, token_for):
    """Return ``call(email, method, url, **kwargs)``: an API request as the user with that e-mail."""

    def call(email, method, url, **kwargs):
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return client.open(url, method=method, headers=token_for(user), **kwargs)

    return call


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


OIDC_DIR = Path(__file__).parent / "oidc"


@dataclass(frozen=True)
class OidcProvider:
    """A running oidc-provider and the app port its one client's redirect URI names."""

    issuer: str
    client_id: str
    client_secret: str
    #: The port the app under test must serve on (and REFERRAL_BASE_URL name): the registered redirect URI's.
    app_port: int

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.app_port}"

    def app_config(self, **overrides) -> dict:
        """Return the app settings that sign in through this provider."""
        return {"REFERRAL_OIDC_ISSUER": self.issuer, "REFERRAL_OIDC_CLIENT_ID": self.client_id,
                "REFERRAL_OIDC_CLIENT_SECRET": self.client_secret, "REFERRAL_OIDC_NAME": "Test ID",
                "REFERRAL_BASE_URL": self.app_url, **overrides}


def _node_modules() -> None:
    """Install tests/oidc's locked packages once (``npm ci``), one pytest worker at a time."""
    with open(OIDC_DIR.parent / ".oidc-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--prefix", str(OIDC_DIR)], check=True,
                           stdout=subprocess.DEVNULL, timeout=600)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """Run panva's oidc-provider (tests/oidc/provider.mjs) with Node.js on a free port of 127.0.0.1.

    Skips when Node.js or npm is absent, unless REFERRAL_REQUIRE_BROWSER=1 (CI), where it fails.
    """
    if not shutil.which("node") or not shutil.which("npm"):
        if os.environ.get("REFERRAL_REQUIRE_BROWSER") == "1":
            pytest.fail("Node.js and npm are needed for the OpenID provider of the tests")
        pytest.skip("Node.js or npm not found")
    _node_modules()
    port, app_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.mjs"), str(port), f"http://127.0.0.1:{app_port}/login/oidc/callback"],
            stdout=output, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{issuer}/.well-known/openid-configuration", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the OpenID provider did not start: " + log.read_text(errors="replace")[-2000:])
        time.sleep(0.2)
    yield OidcProvider(issuer=issuer, client_id="referral-engine", client_secret="referral-engine-secret",
                       app_port=app_port)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
