"""`yiciban-central`: init, serve, create-user, register-station, enrollment-code, revoke, rotate-root, import,
export, publish, migrate, demo."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from .roles import ROLES

INSTANCE_OPTION = click.option(
    "--instance",
    "instance",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="YICIBAN_CENTRAL_INSTANCE_PATH",
    default="central-instance",
    show_default=True,
    help="Instance folder.",
)


def _settings(instance: Path) -> dict[str, Any]:
    from .settings import load_settings

    return load_settings({"INSTANCE_PATH": str(instance)})


def _bind(instance: Path, *, check: bool = True) -> dict[str, Any]:
    from .db import bind_database
    from .migrations import check_schema_current
    from .runtime import Runtime, set_runtime

    settings = _settings(instance)
    bind_database(settings["DATABASE_URL"])
    if check:
        check_schema_current()
    set_runtime(Runtime(settings))
    return settings


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group()
def cli() -> None:
    """yiciban central node (中心节点)."""


@cli.command()
@INSTANCE_OPTION
@click.option(
    "--network", "network_id", default=None, help="Network (deployment) id; generated when omitted."
)
@click.option("--escrow-recipient", default=None, help="age1… recipient of an escrow key made offline.")
def init(instance: Path, network_id: str | None, escrow_recipient: str | None) -> None:
    """Create keys, secret key and database of a new central instance."""
    from .errors import CentralError
    from .instance import init_instance
    from .migrations import migrate

    try:
        result = init_instance(instance, network_id=network_id, escrow_recipient=escrow_recipient)
        _bind(instance, check=False)
        applied = migrate()
    except CentralError as e:
        _fail(e.message)
        return
    click.echo(f"initialised {instance.resolve()}")
    click.echo(f"network id: {result.network_id}")
    click.echo(f"root key id: {result.root_key_id}")
    click.echo(f"ingest recipient: {result.ingest_recipient}")
    click.echo(f"escrow recipient: {result.escrow_recipient}")
    click.echo(f"migrations applied: {', '.join(applied) or 'none'}")
    if result.escrow_identity_file is not None:
        click.echo(
            f"WARNING: the escrow identity was written to {result.escrow_identity_file}. Move it to offline "
            "storage now and delete it here: it can open every sealed file of this network.",
            err=True,
        )


@cli.command()
@INSTANCE_OPTION
def migrate_cmd(instance: Path) -> None:
    """Apply pending database migrations."""
    from .migrations import migrate

    _bind(instance, check=False)
    applied = migrate()
    click.echo(f"migrations applied: {', '.join(applied) or 'none'}")


migrate_cmd.name = "migrate"


@cli.command("create-user")
@INSTANCE_OPTION
@click.option("--username", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--display-name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
def create_user_cmd(instance: Path, username: str, role: str, display_name: str, password: str) -> None:
    """Create a login."""
    from .services.accounts import AccountError, create_user

    _bind(instance)
    try:
        create_user(username, password, role, display_name)
    except AccountError as e:
        _fail(str(e))
    click.echo(f"created user {username} ({role})")


@cli.command("register-station")
@INSTANCE_OPTION
@click.option("--code", required=True, help="12-digit statistical division code.")
@click.option("--name", required=True)
@click.option("--level", type=click.Choice(["village", "township", "county"]), required=True)
@click.option(
    "--parent", "parent_code", default=None, help="Parent station code (village → township → county)."
)
def register_station_cmd(instance: Path, code: str, name: str, level: str, parent_code: str | None) -> None:
    """Register a station so it can be enrolled."""
    from .errors import RegistrationError
    from .services.stations import register_station

    _bind(instance)
    try:
        register_station(code, name, level, parent_code, actor="cli")
    except RegistrationError as e:
        _fail(e.message)
    click.echo(f"registered station {code}")


@cli.command("enrollment-code")
@INSTANCE_OPTION
@click.option("--station", "station_code", required=True)
@click.option("--hours", type=int, default=None, help="Validity (default: ENROLLMENT_CODE_HOURS).")
def enrollment_code_cmd(instance: Path, station_code: str, hours: int | None) -> None:
    """Issue a one-time enrollment code for a registered station (printed once)."""
    from .errors import CentralError
    from .runtime import current_runtime
    from .services.stations import issue_enrollment_code

    settings = _bind(instance)
    try:
        issued = issue_enrollment_code(
            station_code, "cli", current_runtime().cipher, hours or settings["ENROLLMENT_CODE_HOURS"]
        )
    except CentralError as e:
        _fail(e.message)
        return
    click.echo(f"enrollment code for {station_code}: {issued.code}")
    click.echo(f"valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC")


@cli.command("revoke")
@INSTANCE_OPTION
@click.option("--station", "station_code", required=True)
@click.option("--after-epoch", type=int, default=None, help="Keep events up to this epoch …")
@click.option(
    "--after-seq", type=int, default=None, help="… and this seq (default: the last position central holds)."
)
def revoke_cmd(instance: Path, station_code: str, after_epoch: int | None, after_seq: int | None) -> None:
    """Revoke a station's keys (lost or stolen PC); later events are quarantined for review."""
    from .errors import CentralError
    from .runtime import current_runtime
    from .services.stations import revoke_station

    _bind(instance)
    if (after_epoch is None) != (after_seq is None):
        _fail("give both --after-epoch and --after-seq, or neither")
    runtime = current_runtime()
    after = (after_epoch, after_seq) if after_epoch is not None and after_seq is not None else None
    try:
        epoch, seq = revoke_station(
            station_code, "cli", runtime.network_id, runtime.keys.central, after=after
        )
    except CentralError as e:
        _fail(e.message)
        return
    click.echo(f"revoked {station_code}: events after epoch {epoch} seq {seq} will be quarantined")


@cli.command("rotate-root")
@INSTANCE_OPTION
def rotate_root_cmd(instance: Path) -> None:
    """Rotate the central trust root: root N signs root N+1 with a new root key; stations get it in bundles."""
    from .errors import CentralError
    from .services.roots import rotate_central_root

    _bind(instance)
    try:
        rotation = rotate_central_root(instance, actor="cli")
    except CentralError as e:
        _fail(e.message)
        return
    click.echo(
        f"root {rotation.version}: new root key {rotation.root_key_id}, signed by {rotation.previous_key_id}; "
        f"written to {rotation.document}"
    )
    click.echo("stations receive it with their next downstream bundle; keep every old root key file offline")


@cli.command("enroll-file")
@INSTANCE_OPTION
@click.argument("request_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "reply_file", required=True, type=click.Path(dir_okay=False, path_type=Path))
def enroll_file_cmd(instance: Path, request_file: Path, reply_file: Path) -> None:
    """Enroll a station that never goes online: its request file in, the certificate reply file out."""
    import json

    from .errors import CentralError
    from .files import atomic_write
    from .runtime import current_runtime
    from .services.enrollment import enroll_station

    settings = _bind(instance)
    data = request_file.read_bytes()
    if len(data) > settings["MAX_ENROLL_BYTES"]:
        _fail("the request file is larger than MAX_ENROLL_BYTES")
    runtime = current_runtime()
    try:
        reply = enroll_station(data, runtime.identity, runtime.cipher, runtime.root_document, ip="file")
    except CentralError as e:
        _fail(f"{e.code}: {e.message}")
        return
    atomic_write(reply_file, json.dumps(reply, ensure_ascii=False, sort_keys=True).encode(), mode=0o644)
    click.echo(f"wrote the enrollment reply to {reply_file}; carry it to the station and import it there")


@cli.command("import")
@INSTANCE_OPTION
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def import_cmd(instance: Path, folder: Path) -> None:
    """Import sealed files carried on a USB stick (a folder, searched recursively), then process them: large scans
    (blob-<sha256>.age) are checked and kept like an upload (a bad one is quarantined, the rest taken), then the
    batches are stored and ingested."""
    from .errors import CentralError
    from .services.blobs import import_blob_folder
    from .services.inbox import import_folder
    from .services.ingest import ingest_file

    settings = _bind(instance)
    from .runtime import current_runtime

    blobs = import_blob_folder(
        folder,
        instance=Path(settings["INSTANCE_PATH"]),
        max_bytes=settings["MAX_BLOB_BYTES"],
        identities=[current_runtime().keys.ingest.private_raw],
    )
    for blob in blobs:
        click.echo(f"{blob.name}: {blob.status} {blob.reason}".rstrip())
    try:
        stored = import_folder(
            folder, instance=Path(settings["INSTANCE_PATH"]), max_bytes=settings["MAX_UPLOAD_BYTES"]
        )
    except CentralError as e:
        _fail(e.message)
        return
    for item in stored:
        if item.duplicate:
            click.echo(f"{item.name}: duplicate")
            continue
        outcome = ingest_file(current_runtime(), item.name)
        click.echo(f"{item.name}: {outcome.status} {outcome.reason}".rstrip())


@cli.command("export")
@INSTANCE_OPTION
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def export_cmd(instance: Path, folder: Path) -> None:
    """Write every station's next downstream bundle and latest ack to a USB folder (yiciban/<network>/…)."""
    from sync_protocol.layout import ACKS, DOWN, ack_file_name, station_folder

    from .db import write_transaction
    from .files import atomic_write
    from .runtime import current_runtime
    from .services.acks import latest_ack
    from .services.audit import record_audit
    from .services.bundles import issue_all_pending

    _bind(instance)
    runtime = current_runtime()
    written = []
    for issued in issue_all_pending(runtime):
        target = folder / station_folder(runtime.network_id, issued.station_code, DOWN) / issued.name
        atomic_write(target, issued.data, mode=0o644)
        written.append(target)
    from .models import Station

    for station in Station.select().where(Station.status == "enrolled"):
        ack = latest_ack(station.code)
        if ack is not None:
            from sync_protocol.acks import parse_ack

            name = ack_file_name(station.code, parse_ack(ack).version)
            target = folder / station_folder(runtime.network_id, station.code, ACKS) / name
            atomic_write(target, ack, mode=0o644)
            written.append(target)
    with write_transaction():
        record_audit("cli", "export", str(folder), {"files": len(written)})
    for path in written:
        click.echo(str(path.relative_to(folder)))
    click.echo(f"{len(written)} files written")


@cli.command("publish")
@INSTANCE_OPTION
@click.option("--catalog", "catalog_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--calendar",
    "calendar_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option("--shipped", is_flag=True, help="Publish the demo catalog and the calendars casework ships.")
def publish_cmd(
    instance: Path, catalog_file: Path | None, calendar_files: tuple[Path, ...], shipped: bool
) -> None:
    """Publish a catalog and/or working-day calendars to every station (through their downstream bundles)."""
    from .services.publications import PublicationError, publish_calendar, publish_catalog, publish_shipped

    _bind(instance)
    try:
        done = publish_shipped("cli") if shipped else []
        if catalog_file is not None:
            done.append(publish_catalog(catalog_file.read_bytes(), "cli"))
        for path in calendar_files:
            done.append(publish_calendar(path.read_bytes(), "cli"))
    except PublicationError as e:
        lines = [str(e)] + [f"  {p.path}: {p.message.text('en')}" for p in e.problems[:20]]
        _fail("\n".join(lines))
        return
    for item in done:
        click.echo(f"published {item.kind} {item.key or ''} version {item.version}".replace("  ", " "))


@cli.command()
@INSTANCE_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=0, show_default=True, help="0 picks a free port.")
@click.option("--threads", type=int, default=8, show_default=True)
def serve(instance: Path, host: str, port: int, threads: int) -> None:
    """Serve the web app with waitress and run the task consumer in the same process."""
    from waitress.server import create_server

    from . import create_app
    from .errors import CentralError
    from .runtime import current_runtime
    from .services.acks import reissue_missing_acks
    from .services.inbox import recover_inbox, unprocessed_batch_names
    from .tasks import huey, ingest_file_task

    try:
        app = create_app({"INSTANCE_PATH": str(instance)})
    except CentralError as e:
        _fail(e.message)
        return
    from .db import database

    database.connect(reuse_if_open=True)
    recover_inbox(Path(app.config["INSTANCE_PATH"]))
    runtime = current_runtime()
    reissue_missing_acks(runtime.network_id, runtime.keys.central)  # a crash between commit and signing
    waiting = unprocessed_batch_names()
    database.close()
    consumer = None
    if not huey.immediate:
        consumer = huey.create_consumer(
            workers=app.config["HUEY_WORKERS"], worker_type="thread", periodic=True
        )
        consumer.start()
    for name in waiting:
        ingest_file_task(name)
    server = create_server(app, host=host, port=port, threads=threads)

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    # Installed after the consumer's own handlers: one signal stops the web server, then the consumer.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(f"listening on http://{host}:{server.effective_port}", nl=True)
    sys.stdout.flush()
    try:
        server.run()
    finally:
        server.close()
        if consumer is not None:
            consumer.stop(graceful=True)
        click.echo("stopped")


def main() -> None:
    cli()


def _add_demo() -> None:
    from .demo import demo

    cli.add_command(demo)


_add_demo()


@cli.command("verify-qr")
@INSTANCE_OPTION
@click.argument("payload")
def verify_qr_cmd(instance: Path, payload: str) -> None:
    """Verify a scanned receipt QR or folder label against the enrolled station keys."""
    from .services.verify import VerificationFailedError, verify_text

    _bind(instance)
    try:
        result = verify_text(payload)
    except VerificationFailedError as e:
        click.echo(f"NOT VERIFIED: {e.bilingual.text('zh')} / {e.bilingual.text('en')}", err=True)
        sys.exit(2)
    click.echo(f"VERIFIED: {result.document_title}, signed by {result.station_name} ({result.station_code})")
    for name, value in result.fields.items():
        click.echo(f"{name}: {value}")
    for number in result.doc_numbers:
        click.echo(f"doc_number: {number}")
    if result.key_revoked or result.station_revoked:
        click.echo("warning: the station or its key has since been revoked; confirm with the issuing station")
