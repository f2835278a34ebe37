"""The ``referral`` command line."""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from referral.auth.models import User
from referral.cli import cli
from referral.directory.models import Agency
from referral.extensions import db
from tests.appfixtures import free_port


def invoke(runner, *args):
    return runner.invoke(cli, list(args))


def test_users_create_and_token_give_api_access(app, runner, client, make_agency):
    agency = make_agency(code="cli-agency")
    result = invoke(runner, "users", "create", "--email", "cli@example.org", "--name", "CLI User",
                    "--agency", agency.code, "--role", "coordinator", "--password", "long-enough-pw")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "cli@example.org"))
    assert user.role.value == "coordinator"

    result = invoke(runner, "users", "token", "cli@example.org")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n" and token.startswith("rfl_")
    response = client.get("/api/v1/agencies", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert [a["code"] for a in response.json] == ["cli-agency"]


def test_users_create_refuses_bad_input_in_one_line(app, runner, make_agency):
    agency = make_agency()
    result = invoke(runner, "users", "create", "--email", "x@example.org", "--name", "X",
                    "--agency", "no-such-agency", "--role", "staff", "--password", "long-enough-pw")
    assert result.exit_code == 1
    assert "no agency with the code no-such-agency" in result.stderr
    assert "Traceback" not in result.output
    result = invoke(runner, "users", "create", "--email", "x@example.org", "--name", "X",
                    "--agency", agency.code, "--role", "staff", "--password", "short")
    assert result.exit_code == 1 and "at least 12 characters" in result.stderr
    assert db.session.scalar(sa.select(User).where(User.email == "x@example.org")) is None


def test_token_for_unknown_user_fails_cleanly(app, runner):
    result = invoke(runner, "users", "token", "ghost@example.org")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no user with the e-mail ghost@example.org" in result.stderr


def test_agencies_create_import_and_export(app, runner, tmp_path):
    result = invoke(runner, "agencies", "create", "--code", "cli-clinic", "--name", "CLI Clinic",
                    "--type", "health", "--region", "KZ-71", "--email", "clinic@example.kz")
    assert result.exit_code == 0, result.output
    exported = tmp_path / "agencies.json"
    assert invoke(runner, "agencies", "export", str(exported)).exit_code == 0
    document = json.loads(exported.read_text())
    assert [o["id"] for o in document["organizations"]] == ["cli-clinic"]

    document["organizations"][0]["name"] = "Renamed Clinic"
    document["organizations"].append({**document["organizations"][0], "id": "cli-second", "name": "Second"})
    exported.write_text(json.dumps(document))
    result = invoke(runner, "agencies", "import", str(exported))
    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 0 unchanged" in result.output
    assert db.session.scalar(sa.select(Agency.name).where(Agency.code == "cli-clinic")) == "Renamed Clinic"


def test_bad_import_file_lists_problems_and_changes_nothing(app, runner, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "hsds-referral-directory", "version": 1, "organizations": [
        {"id": "Not A Code", "name": "X", "x_agency_type": "health", "active": True,
         "locations": [{"x_region": "KZ-71"}]},
        {"id": "fine", "name": "Fine", "x_agency_type": "spaceship", "active": True,
         "locations": [{"x_region": "KZ-71"}]},
    ]}))
    result = invoke(runner, "agencies", "import", str(bad))
    assert result.exit_code == 1
    assert "organizations[0].id" in result.stderr and "organizations[1].x_agency_type" in result.stderr
    assert "nothing was imported" in result.stderr
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0


def test_missing_file_is_one_line(app, runner, tmp_path):
    result = invoke(runner, "agencies", "import", str(tmp_path / "missing.json"))
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def run_referral(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "referral", *args], check=False, capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=120)


def test_serving_without_a_secret_key_is_one_clear_line(tmp_path):
    env = {"REFERRAL_SECRET_KEY": "", "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path}/x.sqlite3"}
    result = run_referral(["serve", "--port", "1"], env, tmp_path)
    assert result.returncode == 1
    assert "REFERRAL_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_db_upgrade_builds_an_empty_database(tmp_path):
    env = {"REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.sqlite3"}
    result = run_referral(["db", "upgrade"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    engine = sa.create_engine(env["REFERRAL_DATABASE_URL"])
    assert {"agencies", "users", "audit_entries", "api_tokens"} <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_the_served_demo_signs_a_user_in_while_its_scheduler_works(tmp_path):
    """The demo forks its web worker from the process whose scheduler starts sealing and sweeping the demo's
    history at once; a worker forked mid-transaction inherited SQLite's lock and every sign-in failed with
    "database is locked" (a 500 after five seconds)."""
    import re
    import time
    import urllib.parse
    import urllib.request
    from http.cookiejar import CookieJar

    from referral.demo import DEMO_PASSWORD
    from tests.appfixtures import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "referral", "demo", "--port", str(port)],
                              env={**os.environ, "REFERRAL_DATABASE_URL": ""}, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None  # a redirect is the answer looked at, not followed

    def sign_in() -> int:
        """Open the login page in a fresh browser session, post the form; return the answer's status."""
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), Stay())
        page = opener.open(f"{base}/login", timeout=5).read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"csrf_token": token, "email": "social@demo.kz",
                                       "password": DEMO_PASSWORD}).encode()
        try:
            return opener.open(f"{base}/login", form, timeout=30).status
        except urllib.error.HTTPError as answer:
            return answer.code

    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the demo did not start"
                time.sleep(0.5)
        assert [sign_in(), sign_in()] == [302, 302]  # at once, while the first jobs run, and again
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "database is locked" not in errors


def test_demo_prepares_database_idempotently(tmp_path):
    env = {"REFERRAL_DATABASE_URL": ""}
    first = run_referral(["demo", "--no-serve"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert "admin@demo.kz" in first.stdout and "demo-password-2026" in first.stdout
    second = run_referral(["demo", "--no-serve"], env, tmp_path)
    assert second.returncode == 0, second.stderr
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'instance' / 'demo.sqlite3'}")
    with engine.connect() as connection:
        agencies = connection.execute(sa.text("SELECT type, region FROM agencies")).all()
        users = connection.execute(sa.text("SELECT role FROM users")).scalars().all()
        user_agencies = connection.execute(sa.text("SELECT DISTINCT agency_id FROM users")).scalars().all()
    engine.dispose()
    assert len(agencies) >= 15
    assert {t for t, _ in agencies} == {"justice", "health", "education", "social", "civil_society"}
    assert len({r for _, r in agencies}) >= 8
    assert set(users) == {"staff", "supervisor", "coordinator", "admin"}
    assert len(user_agencies) >= 5
    assert (tmp_path / "instance" / "secret_key").exists()


def test_the_access_log_never_holds_a_calendar_feed_secret(database_url, tmp_path):
    """A real gunicorn serves the feed; its access log keeps the route but not the key in the URL."""
    port = free_port()
    env = {**os.environ, "REFERRAL_SECRET_KEY": "k" * 32, "REFERRAL_DATABASE_URL": database_url}
    server = subprocess.Popen([sys.executable, "-m", "referral", "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        secret = "s3cr3t-feed-key-0123456789"
        answered = False
        deadline = time.monotonic() + 90  # a loaded machine can take a while to start gunicorn
        while not answered and time.monotonic() < deadline and server.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/calendar/{secret}.ics", timeout=5)
            except urllib.error.HTTPError as error:
                assert error.code == 404
                answered = True
            except OSError:
                time.sleep(0.2)
        assert answered, "the server never answered"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "/calendar/[secret].ics" in output
    assert secret not in output


def test_serve_starts_three_sync_workers_per_core_unless_told(database_url, tmp_path):
    """The production defaults (README, Production): gunicorn's sync worker, three per core, all answering."""
    port = free_port()
    env = {**os.environ, "REFERRAL_SECRET_KEY": "k" * 32, "REFERRAL_DATABASE_URL": database_url}
    server = subprocess.Popen([sys.executable, "-m", "referral", "serve", "--host", "127.0.0.1", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    expected = 3 * (os.cpu_count() or 1)
    try:
        deadline = time.monotonic() + 90
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
        while time.monotonic() < deadline and server.poll() is None:
            if children.exists() and len(children.read_text().split()) == expected and _answers(port):
                break
            time.sleep(0.2)
        assert len(children.read_text().split()) == expected
        assert _answers(port)
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "Using worker: sync" in output
    assert output.count("Booting worker with pid") == expected


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


def test_text_longer_than_its_column_is_refused_in_one_line_and_changes_nothing(app, runner, tmp_path):
    result = invoke(runner, "agencies", "create", "--code", "long-name", "--name", "N" * 250,
                    "--type", "health", "--region", "KZ-71")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "at most 200 characters" in result.stderr
    # The file format allows a 200-character city; the column holds 100, and the import says so.
    document = {"format": "hsds-referral-directory", "version": 1, "organizations": [
        {"id": "long-city", "name": "Clinic", "x_agency_type": "health", "active": True,
         "locations": [{"x_region": "KZ-71", "city": "C" * 150}]}]}
    path = tmp_path / "long.json"
    path.write_text(json.dumps(document))
    result = invoke(runner, "agencies", "import", str(path))
    assert result.exit_code == 1
    assert "organizations[0].locations[0].city: Must be at most 100 characters long." in result.stderr
    assert "Traceback" not in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0


def test_the_scheduler_on_an_unmigrated_database_says_what_to_do(tmp_path):
    env = {"REFERRAL_SECRET_KEY": "x", "REFERRAL_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3"}
    result = run_referral(["scheduler", "run", "--once"], env, tmp_path)
    assert result.returncode == 1
    assert "has not been migrated: run `referral db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_checking_tallies_that_are_not_kept_says_why(app, runner):
    result = runner.invoke(cli, ["reports", "check-tallies"])
    assert result.exit_code == 1
    # SQLite keeps none; a PostgreSQL database keeps them once the scheduler (or rebuild-tallies) built them.
    assert ("PostgreSQL only" if db.engine.dialect.name == "sqlite" else "not built") in result.output
