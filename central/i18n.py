"""Languages: zh (default) and en, chosen by ``?lang=`` and remembered in the session."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, request, session
from flask_babel import Babel

LANGUAGES = ("zh", "en")
TRANSLATIONS = Path(__file__).parent / "translations"


def select_locale() -> str:
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
        return asked
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return remembered
    return current_app.config.get("LANGUAGE", "zh")


def init_i18n(app: Flask) -> None:
    # The folder must be named "zh": flask-babel silently ignores "zh_CN" (ECOSYSTEM-NOTES trap 3).
    app.config["BABEL_DEFAULT_LOCALE"] = "zh"
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def inject_language() -> dict[str, object]:
        from flask_babel import get_locale

        return {"current_language": str(get_locale() or "zh"), "languages": LANGUAGES}
