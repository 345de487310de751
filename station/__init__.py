"""The station node: a Flask app for a village, township or county service hall, with its local store and log.

``create_app(config=None)`` resolves settings (defaults → instance config.toml → YICIBAN_STATION_* → dict),
opens the instance (keys and migrated SQLite store) and registers the screens.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, current_app, g, session
from flask_wtf.csrf import CSRFProtect

from .errors import InstanceError
from .handlers import register_error_handlers
from .i18n import init_i18n
from .keystore import load_keys
from .settings import load_settings

if TYPE_CHECKING:
    from .context import NodeContext

# The store (peewee) is imported when a node is opened, not with the package: ``serve`` first keeps the
# PostgreSQL drivers out of the process (see cli.serve), which only works if peewee is not imported yet.

__all__ = ["create_app", "current_node"]

DATABASE_FILE = "station.db"


def open_node(settings: dict[str, Any]) -> NodeContext:
    """Open an initialised instance: keys present and every migration applied.

    Raises:
        InstanceError: not initialised, or the schema needs ``init`` to migrate it.
    """
    from . import db as dbmod
    from .context import NodeContext
    from .migrations import pending_migrations

    instance = Path(settings["INSTANCE_PATH"])
    keys = load_keys(instance)
    database = dbmod.open_database(instance / DATABASE_FILE)
    database.connect(reuse_if_open=True)
    try:
        pending = pending_migrations(database)
    finally:
        database.close()
    if pending:
        raise InstanceError(
            f"the database needs migrations {', '.join(pending)}: run `yiciban-station init --instance {instance}`"
        )
    return NodeContext(instance=instance, database=database, keys=keys, settings=settings)


def current_node() -> NodeContext:
    return current_app.extensions["station"]  # type: ignore[no-any-return]


def self_check(node: NodeContext) -> None:
    """Start-up self-check (SYNC-DESIGN §3): the tail of the local log must be an unbroken chain.

    Raises:
        LogIntegrityError: a stored event does not hash to its id or the chain is broken.
    """
    from . import db as dbmod
    from .services.log import verify_tail

    with dbmod.bound(node.database):
        verify_tail()


def session_cookie_name(node: NodeContext) -> str:
    """One session cookie per station instance: browsers share cookies between ports of one host, so two
    stations on 127.0.0.1 (or one PC serving a village and a township) must not log each other out. Named by the
    station code, or by the instance's signing key before the station has an identity."""
    from . import db as dbmod
    from .models import StationIdentity

    with dbmod.bound(node.database):
        identity = StationIdentity.current()
    suffix = str(identity.station_code) if identity is not None else node.keys.signing_key.key_id[:16]
    return f"yiciban_station_{suffix}"


def keep_wal_open(node: NodeContext) -> sqlite3.Connection:
    """An idle connection held for the app's life. Each request opens and closes its own connection, and in WAL
    mode the LAST connection to close checkpoints the log and deletes it (and its index): every request paid that
    (fsyncs; ≈8 ms of an intake POST), and the next one created both files again. While this one is open no request
    connection is the last; SQLite still checkpoints as the log grows (wal_autocheckpoint)."""
    keeper = sqlite3.connect(node.db_path, check_same_thread=False)
    keeper.execute(
        "SELECT count(*) FROM sqlite_master"
    ).fetchone()  # opens the log and its shared-memory index
    return keeper


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from . import db as dbmod

    settings = load_settings(config)
    node = open_node(settings)
    self_check(node)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.config.update(settings)
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = node.keys.secret_key
    app.config.update(
        SESSION_COOKIE_NAME=session_cookie_name(node),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=settings["MAX_UPLOAD_BYTES"],
    )
    app.extensions["station"] = node
    app.extensions["station_wal_keeper"] = keep_wal_open(node)

    @app.before_request
    def bind_database_and_user() -> None:
        from .models import User

        g.request_started = (time.perf_counter(), time.thread_time())
        dbmod.bind(node.database)
        node.database.connect(reuse_if_open=True)
        user_id = session.get("user_id")
        user = User.find(User.id, user_id) if user_id else None
        g.user = user if user is not None and user.active else None

    @app.after_request
    def server_timing(response: Response) -> Response:
        """The server's own time for the request (wall and this thread's CPU, ms) as a Server-Timing header:
        bench/station.py reads it, so a loaded machine shows as wall time well above CPU time."""
        started = g.get("request_started")
        if started is not None:
            wall, cpu = time.perf_counter() - started[0], time.thread_time() - started[1]
            response.headers["Server-Timing"] = f"app;dur={wall * 1000:.2f}, cpu;dur={cpu * 1000:.2f}"
        return response

    @app.teardown_request
    def close_database(_exc: BaseException | None) -> None:
        if not node.database.is_closed():
            node.database.close()

    CSRFProtect(app)
    init_i18n(app)
    register_error_handlers(app)

    from .views import register_blueprints

    register_blueprints(app)
    from .tasks import create_huey

    app.extensions["huey"] = create_huey(app)
    return app
