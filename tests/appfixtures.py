"""Fixtures and helpers of the tests that need the app: a fresh database per test, factories, real peers.

The conftest files of tests/service and tests/browser take them in, so that the pure tests (tests/workflows,
tests/agencies) import no Flask.
"""

import copy
import fcntl
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from referral import create_app
from referral.actors import Actor
from referral.auth import service as accounts
from referral.auth.models import User
from referral.demo import DEMO_PASSWORD, load_demo_data
from referral.directory.models import Agency
from referral.extensions import db
from referral.schema_migrations import init_migrations


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
    app = init_migrations(create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        upgrade()
        db.engine.dispose()


#: Tables whose triggers refuse UPDATE, DELETE and TRUNCATE.
APPEND_ONLY_TABLES = ("audit_entries", "audit_seals", "events", "workflow_versions")


def _emptying_statement(engine) -> str:
    """Return one SQL text that removes every row a test wrote and restarts the sequences, as a fresh migrated
    database has them: one round trip per test.

    DELETE with triggers off (``session_replication_role``, which a superuser may set; it also passes the
    append-only tables' triggers) costs a few milliseconds on tables this small, where TRUNCATE creates new
    files for every table each time: it was a third of the PostgreSQL run.
    """
    with engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        ).scalars().all()
        sequences = connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'").scalars().all()
        superuser = connection.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
    if not superuser:
        # The append-only tables refuse TRUNCATE by trigger; their owner may switch the triggers off meanwhile.
        append_only = [t for t in APPEND_ONLY_TABLES if t in tables]
        statements = [f'ALTER TABLE "{table}" DISABLE TRIGGER USER' for table in append_only]
        statements.append("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        statements += [f'ALTER TABLE "{table}" ENABLE TRIGGER USER' for table in append_only]
    else:
        statements = ["SET LOCAL session_replication_role = replica"]
        statements += [f'DELETE FROM "{table}"' for table in tables]
        statements += [f'ALTER SEQUENCE "{sequence}" RESTART' for sequence in sequences]
    return "; ".join(statements)


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


@dataclass(frozen=True)
class WorkerApp:
    """The app a pytest-xdist worker (or a session without workers) builds once, with what resets it per test."""

    app: Flask
    first_config: dict
    emptying_statement: str | None  # PostgreSQL: see _emptying_statement; SQLite copies the template instead
    #: SQLite: the file of the demo data loaded on the template (``demo``), and what the test has done so far
    #: (``untouched``: the stat of the test's fresh copy; ``other_apps``: apps it made with other configuration).
    state: dict = field(default_factory=dict)

    def replace_database(self, source) -> None:
        """SQLite: put a copy of ``source`` in place of the worker's database file, its connections closed.

        A connection a thread still holds keeps the old file.
        """
        path = sa.make_url(self.app.config["SQLALCHEMY_DATABASE_URI"]).database
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        shutil.copyfile(source, f"{path}.new")
        os.replace(f"{path}.new", path)
        self.state.update(untouched=_stat(path), other_apps=0)

    def untouched(self) -> bool:
        """SQLite: whether the test has written nothing to its database yet, and no other app has it open."""
        path = sa.make_url(self.app.config["SQLALCHEMY_DATABASE_URI"]).database
        return not self.state["other_apps"] and self.state["untouched"] == _stat(path)


def _stat(path) -> tuple:
    found = os.stat(path)
    return found.st_ino, found.st_size, found.st_mtime_ns


@pytest.fixture(scope="session")
def worker_app(template_database, tmp_path_factory) -> WorkerApp:
    """Build this worker's app once: building one per test was most of a short test's time.

    It works on the worker's database (``database_url`` empties it for each test) and gets its first
    configuration back before each test (``make_app``). Tests that ask for other configuration get their own app.
    """
    url = PG_URL or f"sqlite:///{tmp_path_factory.mktemp('database') / 'test.sqlite3'}"
    # Migrations bound as the CLI binds them: tests run its commands on this app.
    app = init_migrations(create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url}))
    app.test_client_class = FreshContextClient
    with app.app_context():
        emptying = _emptying_statement(db.engine) if PG_URL else None
    yield WorkerApp(app, copy.deepcopy(dict(app.config)), emptying)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def database_url(worker_app, template_database):
    """Return the URL of an empty, migrated database for one test (the worker's, emptied for it)."""
    app = worker_app.app
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if PG_URL:
        yield url
        with app.app_context(), db.engine.begin() as connection:
            connection.exec_driver_sql(worker_app.emptying_statement)
    else:
        worker_app.replace_database(template_database)
        yield url


@pytest.fixture
def make_app(worker_app, database_url):
    """Return a factory of apps on this test's database, with config overrides.

    Without overrides it is the worker's app, its first configuration back; with overrides, a new app.
    """
    apps = []
    worker_app.app.config.clear()
    worker_app.app.config.update(copy.deepcopy(worker_app.first_config))

    def factory(**overrides):
        if not overrides:
            return worker_app.app
        app = init_migrations(create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **overrides}))
        app.test_client_class = FreshContextClient
        apps.append(app)
        worker_app.state["other_apps"] = len(apps)
        return app

    yield factory
    with worker_app.app.app_context():
        db.session.remove()
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


def _keep_demo_postgresql(tables: list[str]) -> str:
    """Copy the demo rows into the schema demo_copy; return the statement that puts them back in an empty
    database, sequences included (triggers off, as in ``_emptying_statement``)."""
    statements = ["DROP SCHEMA IF EXISTS demo_copy CASCADE", "CREATE SCHEMA demo_copy"]
    statements += [f'CREATE TABLE demo_copy."{t}" AS SELECT * FROM public."{t}"' for t in tables]
    with db.engine.begin() as connection:
        connection.exec_driver_sql("; ".join(statements))
        sequences = connection.exec_driver_sql(
            "SELECT sequencename, last_value, last_value IS NOT NULL FROM pg_sequences WHERE schemaname = 'public'"
        ).all()
    restore = ["SET LOCAL session_replication_role = replica"]
    restore += [f'INSERT INTO public."{t}" SELECT * FROM demo_copy."{t}"' for t in tables]
    restore += [f"SELECT setval('public.\"{name}\"', {value or 1}, {'true' if called else 'false'})"
                for name, value, called in sequences]
    return "; ".join(restore)


def _empty_postgresql(tables: list[str]) -> bool:
    """Whether no table of the test's PostgreSQL database holds a row (one round trip)."""
    query = "SELECT NOT (" + " OR ".join(f'EXISTS (SELECT 1 FROM "{t}")' for t in tables) + ")"
    return db.session.execute(sa.text(query)).scalar()


@pytest.fixture
def demo(app, worker_app):
    """Load the demo agencies, users and cases.

    A worker loads them once and copies them for the next tests that ask for them before writing anything
    (SQLite: the database file; PostgreSQL: the rows, through the schema demo_copy): loading them took a
    second or more, for hundreds of tests.
    """
    if PG_URL:
        tables = worker_app.state.setdefault("tables", db.session.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
            " ORDER BY tablename")).scalars().all())
        if not _empty_postgresql(tables):
            load_demo_data()
            db.session.commit()
            return
        restore = worker_app.state.get("demo")
        if restore is None:
            load_demo_data()
            db.session.commit()
            worker_app.state["demo"] = _keep_demo_postgresql(tables)
            return
        db.session.commit()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(restore)
        return
    if not worker_app.untouched():
        load_demo_data()
        db.session.commit()
        return
    loaded = worker_app.state.get("demo")
    if loaded is None:
        load_demo_data()
        db.session.commit()
        db.session.remove()
        loaded = worker_app.state["demo"] = f"{sa.make_url(app.config['SQLALCHEMY_DATABASE_URI']).database}.demo"
        shutil.copyfile(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database, loaded)
    worker_app.replace_database(loaded)


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
