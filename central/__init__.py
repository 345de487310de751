"""The central node (中心节点): verifies and merges every station's batches; admins review what arrived.

``create_app(config=None)`` builds the Flask app: defaults → <instance>/config.toml → YICIBAN_CENTRAL_* → ``config``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask_wtf.csrf import CSRFProtect

__all__ = ["create_app"]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from . import auth, handlers, i18n, labels
    from .db import bind_database, database
    from .errors import InstanceError
    from .instance import read_secret_key
    from .migrations import check_schema_current
    from .runtime import Runtime, set_runtime
    from .settings import load_settings
    from .tasks import configure_huey
    from .views import register_blueprints

    settings = load_settings(config)
    instance = Path(settings["INSTANCE_PATH"])
    if not settings["SECRET_KEY"]:
        settings["SECRET_KEY"] = read_secret_key(instance) or ""
    if not settings["SECRET_KEY"]:
        raise InstanceError(f"no SECRET_KEY: run `yiciban-central init --instance {instance}`")

    app = Flask(__name__, instance_path=str(instance), instance_relative_config=False)
    app.config.update(settings)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["SESSION_COOKIE_SECURE"],
        SESSION_COOKIE_NAME="yiciban_central",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=None,  # uploads are capped while streaming, per endpoint
        WTF_CSRF_TIME_LIMIT=None,
    )
    if "WTF_CSRF_ENABLED" in settings:
        app.config["WTF_CSRF_ENABLED"] = settings["WTF_CSRF_ENABLED"]

    bind_database(settings["DATABASE_URL"])
    database.connect(reuse_if_open=True)
    try:
        check_schema_current()
    finally:
        database.close()
    set_runtime(Runtime(settings))
    configure_huey(settings)

    CSRFProtect(app)
    i18n.init_i18n(app)
    auth.init_auth(app)
    handlers.init_error_handlers(app)
    labels.init_labels(app)
    register_blueprints(app)
    app.view_functions["static"] = auth.public(app.view_functions["static"])

    @app.before_request
    def open_database() -> None:
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def close_database(exc: BaseException | None) -> None:
        if not database.is_closed():
            database.close()

    return app
