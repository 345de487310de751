"""Logins (argon2 hashes), roles, login throttling and the ``requires_roles`` / ``public`` declarations.

Every view declares who may call it: ``@requires_roles(...)`` or ``@public``. The declaration is stored on the
view function (``allowed_roles``) so the authorization matrix test can walk ``app.url_map`` and fail on any
endpoint that declares nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .db import write_transaction
from .models import AuditLog, LoginFailure, LoginLock, User

ROLES = ("village_staff", "township_clerk", "county_clerk", "proxy_agent", "central_admin", "auditor")
STATION_STAFF = ("village_staff", "township_clerk", "county_clerk")
ALL_STATION_USERS = (*STATION_STAFF, "proxy_agent", "auditor")
PUBLIC = "public"

_hasher = PasswordHasher()
# Verifying against this keeps the time of a login for an unknown user close to that of a known one.


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist (same cost, no user enumeration by timing); made on
    first use, not at import, so start-up stays fast."""
    return _hasher.hash("not a real password")


def requires_roles(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the roles allowed to call a view; anyone else gets 403, anonymous users go to the login page."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown or empty roles: {sorted(unknown)}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            from flask import abort, g, redirect, request, url_for

            user = g.get("user")
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if not (user.role_set & set(roles)):
                abort(403)
            return view(*args, **kwargs)

        wrapper.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Declare a view open to everyone (login page, static files, language switch)."""
    view.allowed_roles = PUBLIC  # type: ignore[attr-defined]
    return view


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def record_audit(actor: str, action: str, ip: str = "", **detail: Any) -> None:
    """Append one row to the audit log (inside the caller's transaction when there is one)."""
    with write_transaction():
        AuditLog.create(
            at=_iso(_now()),
            actor=actor,
            action=action,
            ip=ip,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )


def create_user(
    username: str, password: str, roles: list[str] | tuple[str, ...], display_name: str = ""
) -> User:
    """Create a staff login; roles must be known and the password at least 8 characters."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown or empty roles: {sorted(unknown)}")
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    with write_transaction():
        user = User.create(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            roles=",".join(roles),
            created_at=_iso(_now()),
        )
        record_audit("cli", "user.create", username=username, roles=list(roles))
    return user


class LoginLocked(Exception):
    """Too many failures for this username from this address; ``until`` says when the lock ends."""

    def __init__(self, until: datetime) -> None:
        super().__init__(until.isoformat())
        self.until = until


def locked_until(username: str, ip: str) -> datetime | None:
    row = LoginLock.get_or_none((LoginLock.username == username) & (LoginLock.ip == ip))
    if row is None:
        return None
    until = datetime.fromisoformat(row.until)
    return until if until > _now() else None


def authenticate(
    username: str, password: str, ip: str, max_failures: int = 5, lock_minutes: int = 15
) -> User | None:
    """Check a login; record failures; lock (username, ip) after ``max_failures`` in ``lock_minutes``.

    Raises:
        LoginLocked: the pair is locked; the password is not even checked.
    """
    until = locked_until(username, ip)
    if until is not None:
        raise LoginLocked(until)
    user = User.get_or_none((User.username == username) & (User.active == True))  # noqa: E712
    try:
        if user is None:
            _hasher.verify(_dummy_hash(), password + "\x00")
        else:
            _hasher.verify(user.password_hash, password)
            with write_transaction():
                LoginFailure.delete().where(
                    (LoginFailure.username == username) & (LoginFailure.ip == ip)
                ).execute()
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = hash_password(password)
                    user.save()
                record_audit(username, "login", ip)
            return user
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        pass
    now = _now()
    window_start = now - timedelta(minutes=lock_minutes)
    with write_transaction():
        LoginFailure.create(username=username, ip=ip, at=_iso(now))
        record_audit(username, "login.failed", ip)
        recent = (
            LoginFailure.select()
            .where(
                (LoginFailure.username == username)
                & (LoginFailure.ip == ip)
                & (LoginFailure.at > _iso(window_start))
            )
            .count()
        )
        if recent >= max_failures:
            LoginLock.insert(
                username=username, ip=ip, until=_iso(now + timedelta(minutes=lock_minutes))
            ).on_conflict_replace().execute()
            LoginFailure.delete().where(
                (LoginFailure.username == username) & (LoginFailure.ip == ip)
            ).execute()
            record_audit(username, "login.locked", ip)
    return None
