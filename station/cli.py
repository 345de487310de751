"""The ``yiciban-station`` command line: init, serve, create-user and the station's operational commands."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import click

from .errors import StationError
from .settings import ENV_PREFIX, load_settings

LEVELS = ("village", "township", "county")

instance_option = click.option(
    "--instance",
    "instance",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_PREFIX + "INSTANCE_PATH",
    required=True,
    help="Instance folder (database, keys, blobs, exports, backups).",
)


def _settings(instance: Path, **extra: Any) -> dict[str, Any]:
    return load_settings({"INSTANCE_PATH": str(instance), **extra})


def _fail(error: Exception) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@click.group()
def main() -> None:
    """yiciban station: the window software of a village, township or county service hall."""


@main.command()
@instance_option
@click.option("--station-code", required=True, help="12-digit 统计用区划代码 of this station.")
@click.option("--name", "station_name", required=True, help="Name shown on screens and documents.")
@click.option("--level", type=click.Choice(LEVELS), required=True, help="village, township or county.")
@click.option(
    "--parent", "parent_code", default="", help="Station code of the parent hall (villages: the township)."
)
@click.option("--network", default="", help="Deployment id (else learned at enrollment).")
def init(
    instance: Path, station_code: str, station_name: str, level: str, parent_code: str, network: str
) -> None:
    """Create or upgrade an instance: folders, keys (0600), database migrations and the station identity."""
    from . import db as dbmod
    from .services.identity import set_identity
    from .services.setup import initialise_instance

    try:
        created, applied, database = initialise_instance(instance)
        with dbmod.bound(database):
            set_identity(station_code, station_name, level, parent_code, network)
    except (StationError, ValueError) as e:
        _fail(e)
    for name in created:
        click.echo(f"created key {instance / 'keys' / name}")
    for name in applied:
        click.echo(f"applied migration {name}")
    click.echo(f"instance ready at {instance.resolve()}")


@main.command("create-user")
@instance_option
@click.option("--username", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="Repeat for several roles.")
@click.option("--display-name", default="")
@click.password_option(envvar=ENV_PREFIX + "NEW_PASSWORD", help="At least 8 characters.")
def create_user_command(
    instance: Path, username: str, roles: tuple[str, ...], display_name: str, password: str
) -> None:
    """Create a staff login with one or more roles."""
    from . import db as dbmod
    from . import open_node
    from .auth import create_user

    try:
        node = open_node(_settings(instance))
        with dbmod.bound(node.database):
            create_user(username, password, list(roles), display_name)
    except (StationError, ValueError) as e:
        _fail(e)
    click.echo(f"created user {username} ({', '.join(roles)})")


@main.command()
@instance_option
def backup(instance: Path) -> None:
    """Write a consistent copy of the station database into backups/ now."""
    from . import open_node
    from .services.backup import backup_database

    try:
        node = open_node(_settings(instance))
    except StationError as e:
        _fail(e)
    click.echo(str(backup_database(node.db_path, node.instance / "backups")))


UNUSED_DRIVERS = ("psycopg", "psycopg2", "psycopg2cffi", "redis")
"""Optional libraries peewee and huey import when installed (central's ``postgres`` and the ``redis`` extras, both
in a development venv): a station keeps its store and queue in SQLite, and psycopg alone (libpq, OpenSSL) costs
≈22 MB resident and 0.15 s of start-up."""


def _keep_unused_drivers_out() -> None:
    """Mark :data:`UNUSED_DRIVERS` absent for this process (``import`` raises ImportError, as when not installed).
    Only before the store is imported: once peewee is loaded (tests run a station and central in one process)
    nothing is saved and nothing is changed."""
    if "peewee" in sys.modules or "huey" in sys.modules:
        return
    for name in UNUSED_DRIVERS:
        sys.modules.setdefault(name, None)  # type: ignore[assignment]


MALLOC_ARENAS = 2
"""glibc gives each thread that allocates its own malloc arena (up to eight per core) and every arena keeps what it
freed: with waitress's request threads that was ≈14 MB more resident after a day's mix of pages (bench/station.py).
Two arenas are plenty for a hall's few windows."""


def _limit_malloc_arenas() -> None:
    """``mallopt(M_ARENA_MAX, MALLOC_ARENAS)`` on glibc, before the server's threads start (an explicit
    MALLOC_ARENA_MAX in the environment wins); elsewhere nothing."""
    import os
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or "MALLOC_ARENA_MAX" in os.environ:
        return
    import ctypes

    m_arena_max = -8  # <malloc.h>
    ctypes.CDLL(None).mallopt(m_arena_max, MALLOC_ARENAS)


@main.command()
@instance_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=0, type=int, show_default=True, help="0 picks a free port.")
@click.option("--threads", default=8, type=int, show_default=True)
def serve(instance: Path, host: str, port: int, threads: int) -> None:
    """Serve the station with waitress and run its background tasks (huey consumer) in the same process."""
    _keep_unused_drivers_out()
    _limit_malloc_arenas()
    from waitress.server import create_server

    from . import create_app
    from .services.setup import initialise_instance

    try:
        initialise_instance(instance)
        app = create_app({"INSTANCE_PATH": str(instance)})
    except StationError as e:
        _fail(e)
    server = create_server(app, host=host, port=port, threads=threads)
    huey = app.extensions["huey"]
    consumer = huey.create_consumer(workers=app.config["HUEY_WORKERS"], worker_type="thread", periodic=True)
    web = threading.Thread(target=server.run, name="waitress", daemon=True)
    web.start()
    click.echo(f"listening on http://{host}:{server.effective_port}")
    sys.stdout.flush()
    try:
        consumer.run()  # blocks in the main thread; SIGINT/SIGTERM stop it gracefully
    finally:
        server.close()
        web.join(timeout=5)
    click.echo("stopped")


def _write_config_value(instance: Path, name: str, value: str) -> None:
    """Set one string setting in <instance>/config.toml, keeping the others (written atomically)."""
    import json
    import tomllib

    from .keystore import write_file_atomically
    from .settings import CONFIG_FILE_NAME

    path = instance / CONFIG_FILE_NAME
    values = tomllib.loads(path.read_text("utf-8")) if path.exists() else {}
    values[name] = value
    lines = [f"{key} = {json.dumps(val, ensure_ascii=False)}" for key, val in sorted(values.items())]
    write_file_atomically(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o644)


def _node_for(instance: Path):
    from . import open_node

    try:
        return open_node(_settings(instance))
    except StationError as e:
        _fail(e)
        raise


@main.command()
@instance_option
@click.option(
    "--central", "central_url", required=True, help="Base URL of central, e.g. http://10.0.0.5:8000."
)
@click.option("--code", required=True, help="The one-time enrollment code central issued for this station.")
def enroll(instance: Path, central_url: str, code: str) -> None:
    """Enroll this station with central (request signed with the station key) and remember CENTRAL_URL."""
    from . import db as dbmod
    from .services.enrollment import enroll_online

    node = _node_for(instance)
    try:
        with dbmod.bound(node.database):
            identity = enroll_online(node.keys, central_url, code, node.settings["SYNC_TIMEOUT_SECONDS"])
        _write_config_value(node.instance, "CENTRAL_URL", central_url.rstrip("/"))
    except StationError as e:
        _fail(e)
    click.echo(f"enrolled station {identity.station_code} in network {identity.network_id}")


@main.command()
@instance_option
def sync(instance: Path) -> None:
    """Sync with central now: push what it has not acknowledged, pull the ack and bundles."""
    from . import db as dbmod
    from .services.sync import run_sync

    node = _node_for(instance)
    with dbmod.bound(node.database):
        outcome = run_sync(node, trigger="cli")
    if not outcome["ok"]:
        _fail(StationError(outcome["error"]))
    click.echo(
        f"sent {outcome['pushed']['events']} events in {outcome['pushed']['batches']} batches; "
        f"ack version {outcome['ack_version']}; {outcome['bundles']} bundles applied"
    )


@main.command("export")
@instance_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_command(instance: Path, folder: Path) -> None:
    """Write sealed batch files and large scans for central into FOLDER (a USB stick): yiciban/<network>/up/<station>/."""
    from . import db as dbmod
    from .services.usb import export_batches

    node = _node_for(instance)
    try:
        with dbmod.bound(node.database):
            names = export_batches(node, folder)
    except StationError as e:
        _fail(e)
    for name in names:
        click.echo(name)
    click.echo(f"{len(names)} files written")


@main.command("import")
@instance_option
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_command(instance: Path, folder: Path) -> None:
    """Read acks and bundles for this station from FOLDER; relay other stations' files when online."""
    from . import db as dbmod
    from .services.usb import import_from

    node = _node_for(instance)
    try:
        with dbmod.bound(node.database):
            result = import_from(node, folder)
    except StationError as e:
        _fail(e)
    click.echo(
        f"{result.acks} acks, {result.bundles} bundles, {result.relayed} files relayed, "
        f"{result.replies} replies brought back for other stations"
    )
    for refused in result.refused:
        click.echo(f"refused {refused}", err=True)


@main.command("verify-qr")
@instance_option
@click.argument("payload")
def verify_qr(instance: Path, payload: str) -> None:
    """Verify a scanned receipt QR or folder label offline against the station keys this station knows."""
    from . import db as dbmod
    from . import open_node
    from .services.verify import VerificationFailedError, verify_text

    try:
        node = open_node(_settings(instance))
        with dbmod.bound(node.database):
            result = verify_text(payload, node.keys.signing_key)
    except VerificationFailedError as e:
        click.echo(f"NOT VERIFIED: {e.message.text('zh')} / {e.message.text('en')}", err=True)
        sys.exit(2)
    except StationError as e:
        _fail(e)
    click.echo(f"VERIFIED: {result.document_title}, signed by station {result.station_code}")
    for name, value in result.fields.items():
        click.echo(f"{name}: {value}")
    if result.key_revoked:
        click.echo("warning: the station's key has since been revoked; confirm with the issuing station")


@main.command()
@instance_option
@click.option(
    "--backup",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A backup file (backups/station-*.db) to put in place first; the current store is moved aside.",
)
def restore(instance: Path, backup: Path | None) -> None:
    """Restore from a backup (optional) and open a new log epoch so no sequence number is ever reused."""
    from .services.restore import restore as restore_store

    try:
        event = restore_store(instance, backup)
    except StationError as e:
        _fail(e)
    click.echo(f"opened epoch {event.epoch} (restore); sync with central to send what was recorded since")


@main.command("enroll-request")
@instance_option
@click.option("--code", required=True, help="The one-time enrollment code central issued for this station.")
@click.option("--network", default="", help="Network id central printed (defaults to the one given at init).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def enroll_request(instance: Path, code: str, network: str, out_file: Path) -> None:
    """Offline enrollment, step 1: write the signed request to a file for central (`yiciban-central enroll-file`)."""
    from . import db as dbmod
    from .services.enrollment import write_request_file

    node = _node_for(instance)
    try:
        with dbmod.bound(node.database):
            write_request_file(node.keys, network, code, out_file)
    except StationError as e:
        _fail(e)
    click.echo(f"wrote the enrollment request to {out_file}")


@main.command("enroll-reply")
@instance_option
@click.argument("reply_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def enroll_reply(instance: Path, reply_file: Path) -> None:
    """Offline enrollment, step 2: install central's reply file (certificate and central's keys)."""
    from . import db as dbmod
    from .services.enrollment import install_reply_file

    node = _node_for(instance)
    try:
        with dbmod.bound(node.database):
            identity = install_reply_file(node.keys, reply_file)
    except StationError as e:
        _fail(e)
    click.echo(f"enrolled station {identity.station_code} in network {identity.network_id}")
