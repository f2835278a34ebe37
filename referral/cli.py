"""The ``referral`` command: a Flask CLI group over create_app."""

import contextlib
import functools
import json
import logging
import os
import secrets
import sys
from datetime import date, timedelta
from pathlib import Path

import click
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade

from agencies import REGIONS, AgencyType, Role
from workflows import Severity, is_valid, load_document, validate

from . import config as settings
from . import create_app, scheduler, validation
from .actors import Actor
from .audit import integrity
from .auth import service as accounts
from .auth.schemas import UserInSchema
from .cases import retention
from .demo import load_demo_data
from .designer import service as designer
from .directory import service as directory
from .directory import transfer
from .directory.schemas import AgencyCreateSchema
from .errors import ServiceError
from .extensions import db
from .reports import tallies
from .schema_migrations import init_migrations
from .server import default_workers
from .server import serve as run_server


def _app_for_cli(info=None):
    return init_migrations(create_app({"REFERRAL_CLI": True}))


def fail(message: str) -> None:
    """Print one line on stderr and exit with status 1."""
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def clean_errors(command):
    """Turn refusals into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ServiceError as error:
            db.session.rollback()
            details = "; ".join(f"{field}: {' '.join(map(str, msgs))}" for field, msgs in error.errors.items())
            fail(f"{error.message}" + (f" ({details})" if details else ""))
        except sa.exc.DataError as error:
            # A value no check caught before the database refused it (too long, out of range).
            db.session.rollback()
            fail(f"the database refused a value: {_first_line(error)}")
        except settings.ConfigurationError as error:
            fail(str(error))
        except OSError as error:
            fail(f"{error.strerror}: {error.filename}" if error.filename else str(error))

    return wrapper


def _first_line(error: sa.exc.DBAPIError) -> str:
    return (str(error.orig).splitlines() or [type(error.orig).__name__])[0]


def require_migrated_database() -> None:
    """Exit with one line unless the database can be opened and its migrations are the ones this code needs."""
    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    try:
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.OperationalError as error:
        fail(f"the database cannot be opened: {_first_line(error)}")
    if not current:
        fail("the database has not been migrated: run `referral db upgrade` first.")
    if current != heads:
        fail(f"the database is at migration {', '.join(sorted(current))}, this version needs "
             f"{', '.join(sorted(heads))}: run `referral db upgrade` first.")


def migrated(command):
    """Run a command only on a database that require_migrated_database accepts."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        require_migrated_database()
        return command(*args, **kwargs)

    return wrapper


cli = FlaskGroup(create_app=_app_for_cli, add_default_commands=False, add_version_option=False,
                 help="The referral engine: multi-agency referral workflows.")


def main() -> None:
    """Entry point of the ``referral`` console script."""
    try:
        cli.main(prog_name="referral")
    except settings.ConfigurationError as error:
        fail(str(error))


# -- serving --------------------------------------------------------------------

@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=default_workers, show_default="3 per core", type=click.IntRange(1, 64))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker; more than 1 runs gunicorn's gthread workers instead of sync ones.")
def serve_command(host, port, workers, threads):
    """Serve the web UI and API with gunicorn (several worker processes)."""
    create_app()  # fails here, in one clear line, if the configuration is unusable
    # The workers fork from a fresh interpreter that imports the app only (referral/serving.py says why). -P and
    # PYTHONPATH: the package imported is this one, wherever the command runs from.
    package_root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    os.execve(sys.executable, [sys.executable, "-P", "-m", "referral.serving", host, str(port), str(workers),
                               str(threads)], {**os.environ, "PYTHONPATH": path})


# -- users ----------------------------------------------------------------------

@cli.group("users")
def users_group():
    """Manage user accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--agency", "agency_code", required=True, help="The agency's code.")
@click.option("--role", required=True, type=click.Choice([role.value for role in Role]))
@click.option("--password", default=None, help="At least 10 characters; asked for when omitted.")
@click.option("--locale", default="en", type=click.Choice(["en", "ru", "kk"]))
@with_appcontext
@migrated
@clean_errors
def users_create(email, name, agency_code, role, password, locale):
    """Create a user."""
    if password is None and sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    data = validation.load(UserInSchema(), {"email": email, "name": name, "agency": agency_code, "role": role,
                                            "locale": locale, "password": password})
    user = accounts.create_user(data, Actor.system_actor("cli"))
    db.session.commit()
    click.echo(f"Created user {user.email} ({user.role.value}) at {user.agency.code}.")


@users_group.command("token")
@click.argument("email")
@click.option("--label", default="cli")
@with_appcontext
@migrated
@clean_errors
def users_token(email, label):
    """Print a new API token for a user on stdout, and nothing else."""
    user = accounts.find_user_by_email(email)
    _, secret = accounts.create_token(user, Actor.system_actor("cli"), label)
    db.session.commit()
    click.echo(secret)


# -- agencies -------------------------------------------------------------------

@cli.group("agencies")
def agencies_group():
    """Manage the agency directory."""


@agencies_group.command("create")
@click.option("--code", required=True)
@click.option("--name", required=True)
@click.option("--name-ru", default=None, help="The name in Russian.")
@click.option("--name-kk", default=None, help="The name in Kazakh.")
@click.option("--type", "type_", required=True, type=click.Choice([t.value for t in AgencyType]))
@click.option("--region", required=True, type=click.Choice([r.code for r in REGIONS]))
@click.option("--email", default=None)
@click.option("--district", default=None)
@with_appcontext
@migrated
@clean_errors
def agencies_create(code, name, name_ru, name_kk, type_, region, email, district):
    """Create an agency."""
    values = validation.load(AgencyCreateSchema(), {
        "code": code, "name": name, "name_ru": name_ru, "name_kk": name_kk, "type": type_, "region": region,
        "email": email, "district": district})
    agency = directory.create_agency(values, Actor.system_actor("cli"))
    db.session.commit()
    click.echo(f"Created agency {agency.code}.")


@agencies_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
@migrated
@clean_errors
def agencies_import(file):
    """Import a directory file; a file with any problem changes nothing."""
    text = Path(file).read_bytes()
    try:
        result = transfer.import_text(text, Actor.system_actor("cli"))
    except transfer.DirectoryRejected as rejected:
        db.session.rollback()
        for problem in rejected.problems:
            where = problem["path"] or "file"
            click.echo(f"{file}: {where}: {problem['message']}", err=True)
        fail(f"{len(rejected.problems)} problem(s); nothing was imported.")
    db.session.commit()
    click.echo(f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.")


@agencies_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@with_appcontext
@migrated
@clean_errors
def agencies_export(file):
    """Write the whole directory to a file ('-' for stdout)."""
    document = transfer.export_document(Actor.system_actor("cli"))
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if file == "-":
        click.echo(text, nl=False)
    else:
        Path(file).write_text(text, encoding="utf-8")
    db.session.commit()
    if file != "-":
        click.echo(f"Exported {len(document['organizations'])} agencies to {file}.", err=True)


# -- workflows ------------------------------------------------------------------

@cli.group("workflows")
def workflows_group():
    """Validate, import and export workflow definitions."""


def _read(file: str) -> str:
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text.")


def _format_of(file: str) -> str | None:
    suffix = Path(file).suffix.lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


@workflows_group.command("validate")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--directory", "use_directory", is_flag=True,
              help="Also check that the database's directory has an active agency for every stage.")
@clean_errors
def workflows_validate(file, use_directory):
    """Validate a JSON or YAML definition: exit 0 if it has no errors, 1 with the problems listed."""
    if use_directory:
        require_migrated_database()
    text = _read(file)
    definition, problems = load_document(text, _format_of(file))
    if definition is not None:
        problems = designer.check_definition(definition) if use_directory else validate(definition)
    for problem in problems:
        stages = ",".join(problem.stages) or "-"
        click.echo(f"{problem.severity}\t{problem.code}\t{stages}\t{problem.message}")
    errors = sum(problem.severity is Severity.error for problem in problems)
    warnings = len(problems) - errors
    click.echo(f"{file}: {errors} error(s), {warnings} warning(s)", err=True)
    sys.exit(0 if is_valid(problems) else 1)


@workflows_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--publish", "publish_it", is_flag=True, help="Publish the definition as the next version.")
@with_appcontext
@migrated
@clean_errors
def workflows_import(file, publish_it):
    """Save a definition as its workflow's draft, and publish it with --publish."""
    try:
        result = designer.import_text(_read(file), Actor.system_actor("cli"), _format_of(file), publish_it)
    except ServiceError as error:
        db.session.rollback()
        for problem in error.problems:
            click.echo(f"error\t{problem['code']}\t{','.join(problem.get('stages') or []) or '-'}\t"
                       f"{problem['message']}", err=True)
        raise
    db.session.commit()
    workflow = result.workflow
    if publish_it:
        click.echo(f"Published {workflow.key} version {workflow.latest_version}.")
    else:
        errors = sum(problem.is_error for problem in result.problems)
        click.echo(f"Saved the draft of {workflow.key} ({errors} error(s), "
                   f"{len(result.problems) - errors} warning(s)).")


@workflows_group.command("export")
@click.argument("key")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--version", "number", type=int, default=None, help="A published version (default: the latest).")
@click.option("--draft", is_flag=True, help="Export the draft instead of a published version.")
@with_appcontext
@migrated
@clean_errors
def workflows_export(key, file, number, draft):
    """Write a workflow definition to a JSON or YAML file ('-' for JSON on stdout)."""
    workflow = designer.get_workflow(key)
    if draft:
        if workflow.draft is None:
            fail(f"workflow {key} has no draft")
        document = workflow.draft
    else:
        if number is None and not workflow.latest_version:
            fail(f"workflow {key} has no published version; use --draft")
        document = designer.get_version(key, number or workflow.latest_version).document
    text = designer.render_document(document, "json" if file == "-" else (_format_of(file) or "json"))
    if file == "-":
        click.echo(text, nl=False)
    else:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"Exported {key} to {file}.", err=True)


# -- retention ------------------------------------------------------------------

@cli.group("retention")
def retention_group():
    """Erase the personal data of cases closed longer ago than their workflow's retention period."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be erased; change nothing.")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Erase as if today were this day (YYYY-MM-DD); default: today.")
@with_appcontext
@migrated
@clean_errors
def retention_run(dry_run, as_of):
    """Erase (or with --dry-run list) what the retention periods say; cases under legal hold are kept."""
    day = as_of.date() if as_of else date.today()
    result = retention.run_retention(day, Actor.system_actor("cli"), dry_run=dry_run)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for number, ended_on in result.erased:
        click.echo(f"{'would erase' if dry_run else 'erased'}\t{number}\tretention ended {ended_on.isoformat()}")
    for number in result.held:
        click.echo(f"kept\t{number}\tunder legal hold")
    click.echo(str(result).capitalize() + ".", err=True)


# -- audit ----------------------------------------------------------------------

@cli.group("audit")
def audit_group():
    """Seal the audit log into a hash chain and prove that nobody changed it."""


def _anchor(value: str | None) -> integrity.Head | None:
    if value is None:
        return None
    entry_id, _, digest = value.partition(":")
    if not entry_id.isdigit() or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        fail("--anchor takes ENTRY_ID:HASH as the scheduler logs it, e.g. 1234:<64 hex digits>")
    return integrity.Head(int(entry_id), digest)


@audit_group.command("verify")
@click.option("--anchor", "anchor", default=None, metavar="ENTRY_ID:HASH",
              help="A head logged earlier and kept outside the database: the chain must still pass through it.")
@with_appcontext
@migrated
@clean_errors
def audit_verify(anchor):
    """Recompute the chain of seals: exit 0 if intact, 1 naming the first entry changed, removed or inserted."""
    head = _anchor(anchor)
    result = integrity.verify_chain(anchor=head)
    db.session.rollback()
    if result.broken is not None:
        fail(f"the audit log is broken: {result.broken} "
             f"({result.checked} entries checked before it).")
    click.echo(f"Audit log intact: {result.checked} entries checked, head hash {result.head.hash} "
               f"(entry {result.head.entry_id}), {result.unsealed} not yet sealed.")


@audit_group.command("seal")
@click.option("--lag", default=None, type=click.IntRange(0, 86400),
              help="Leave entries younger than this many seconds (default: REFERRAL_AUDIT_SEAL_LAG_SECONDS).")
@with_appcontext
@migrated
@clean_errors
def audit_seal(lag):
    """Seal the audit entries written since the last run, as the scheduler does every interval."""
    seconds = current_app.config["REFERRAL_AUDIT_SEAL_LAG_SECONDS"] if lag is None else lag
    result = integrity.seal(lag=timedelta(seconds=seconds), batch_size=current_app.config["REFERRAL_AUDIT_SEAL_BATCH"])
    click.echo(f"Audit: {result}.")


@audit_group.command("head")
@with_appcontext
@migrated
@clean_errors
def audit_head():
    """Print the chain's head as the scheduler logs it daily, to keep outside the database."""
    click.echo(f"Audit: {integrity.anchor()}.")
    db.session.rollback()


# -- report tallies -------------------------------------------------------------

@cli.group("reports")
def reports_group():
    """Check, count afresh and fold the report tallies that PostgreSQL keeps beside the referrals."""


def _tallies_kept() -> None:
    if db.session.get_bind().dialect.name != "postgresql":
        fail("the report tallies are kept on PostgreSQL only; reports on SQLite read the referrals.")


@reports_group.command("check-tallies")
@with_appcontext
@migrated
@clean_errors
def reports_check_tallies():
    """Count every referral afresh and compare: exit 0 if the tallies match, 1 saying how many groups differ."""
    _tallies_kept()
    if not tallies.is_current():
        fail("the report tallies are not built in REFERRAL_TIMEZONE yet: the scheduler builds them at its next "
             "run, or run `referral reports rebuild-tallies`.")
    differing = tallies.differences()
    db.session.rollback()
    if differing:
        fail(f"the report tallies differ from the referrals in {differing} groups: run "
             "`referral reports rebuild-tallies`.")
    click.echo("Report tallies match the referrals.")


@reports_group.command("rebuild-tallies")
@with_appcontext
@migrated
@clean_errors
def reports_rebuild_tallies():
    """Count the report tallies afresh (writes to referrals and cases wait meanwhile, a few seconds)."""
    _tallies_kept()
    tallies.rebuild()
    db.session.commit()
    click.echo(f"Report tallies counted afresh in {current_app.config['REFERRAL_TIMEZONE']}.")


@reports_group.command("fold-tallies")
@with_appcontext
@migrated
@clean_errors
def reports_fold_tallies():
    """Fold the tallies' rows into one per group now, as the scheduler does every night."""
    _tallies_kept()
    tallies.compact()
    db.session.commit()
    click.echo("Report tallies folded.")


# -- scheduler ------------------------------------------------------------------

@cli.group("scheduler")
def scheduler_group():
    """Run the scheduler: reminders, escalation, outbox delivery, daily digest."""


@scheduler_group.command("run")
@click.option("--once", is_flag=True, help="Run one sweep, one delivery round and one audit sealing run, then exit.")
@click.option("--interval", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds between sweeps.")
@migrated
@clean_errors
def scheduler_run(once, interval):
    """Run the scheduler in the foreground until stopped (one process is enough; two are safe)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = current_app._get_current_object()
    if once:
        result = scheduler.run_once(app)
        click.echo(f"Swept: {result['sweep']}. Delivered: {result['deliver']}. Audit: {result['seal']}.")
        return
    blocking = scheduler.add_jobs(BlockingScheduler(timezone=app.config["REFERRAL_TIMEZONE"]), app, interval)
    click.echo(f"Scheduler running every {interval} s; stop with Ctrl+C.", err=True)
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        blocking.start()


# -- demo -----------------------------------------------------------------------

@cli.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the database and demo data, then exit.")
def demo_command(host, port, no_serve):
    """Set up a demo database under ./instance with demo data and serve it."""
    from_env = os.environ.get("REFERRAL_DATABASE_URL")
    instance = Path(current_app.instance_path)
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    overrides = {"SECRET_KEY": key_file.read_text().strip(), "SESSION_COOKIE_SECURE": False,
                 "REMEMBER_COOKIE_SECURE": False, "REFERRAL_BASE_URL": f"http://{host}:{port}"}
    if not from_env:
        overrides["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(instance / "demo.sqlite3")
    app = init_migrations(create_app(overrides))
    with app.app_context():
        upgrade()
        summary = load_demo_data()
        db.session.commit()
    click.echo(f"Demo database: {app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo(summary)
    if no_serve:
        return
    with app.app_context():
        engine = db.engine
    # The web worker is forked from this process while the scheduler's jobs run in it: never mid-transaction.
    os.register_at_fork(before=lambda: scheduler.FORK_GUARD.hold(engine),
                        after_in_parent=scheduler.FORK_GUARD.release)
    background = scheduler.add_jobs(BackgroundScheduler(timezone=app.config["REFERRAL_TIMEZONE"]), app, 30)
    background.start()
    click.echo(f"Open http://{host}:{port}/ — the scheduler runs in this process; stop with Ctrl+C.")
    try:
        run_server(lambda: create_app(overrides), host, port, workers=1, threads=8)
    finally:
        background.shutdown(wait=False)
