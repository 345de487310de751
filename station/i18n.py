"""Language selection: ``?lang=en|zh`` is remembered in the session; the default is the LANGUAGE setting (zh)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request, session
from flask_babel import Babel

SUPPORTED_LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in SUPPORTED_LANGUAGES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in SUPPORTED_LANGUAGES:
        return str(remembered)
    return str(current_app.config["LANGUAGE"])


def init_i18n(app: Flask) -> None:
    # The catalog folder is named "zh" (not zh_CN, which flask-babel silently ignores) and set before Babel(app).
    app.config["BABEL_DEFAULT_LOCALE"] = app.config["LANGUAGE"]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
