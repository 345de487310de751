"""Accounts: argon2 password hashes, login with throttling (5 failures per username+IP in 15 minutes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ..db import database, write_transaction
from ..models import LoginAttempt, User, utcnow
from ..roles import ROLES
from .audit import record_audit

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("yiciban-no-such-user")

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    """A user cannot be created as asked (a form message, not a crash)."""


@dataclass(frozen=True)
class LoginOutcome:
    user: User | None
    locked_until: datetime | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(username: str, password: str, role: str, display_name: str = "", actor: str = "cli") -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise AccountError("username must be 1–64 characters")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    with write_transaction():
        if User.select().where(User.username == username).exists():
            raise AccountError(f"user {username} already exists")
        user = User.create(
            username=username,
            role=role,
            display_name=display_name or username,
            password_hash=hash_password(password),
        )
        record_audit(actor, "user_created", username, {"role": role})
    return user


def _recent_failures(username: str, ip: str, now: datetime, window: timedelta) -> list[datetime]:
    since = now - window
    last_success = (
        LoginAttempt.select(LoginAttempt.at)
        .where(LoginAttempt.username == username, LoginAttempt.ip == ip, LoginAttempt.succeeded == True)  # noqa: E712
        .order_by(LoginAttempt.at.desc())
        .first()
    )
    if last_success is not None and last_success.at > since:
        since = last_success.at
    query = LoginAttempt.select(LoginAttempt.at).where(
        LoginAttempt.username == username,
        LoginAttempt.ip == ip,
        LoginAttempt.succeeded == False,  # noqa: E712
        LoginAttempt.at > since,
    )
    return [row.at for row in query]


def authenticate(
    username: str,
    password: str,
    ip: str,
    *,
    max_failures: int = 5,
    lock_minutes: int = 15,
    now: datetime | None = None,
) -> LoginOutcome:
    """Check a login; while locked, do not even look at the password (and do not extend the lock)."""
    now = now or utcnow()
    window = timedelta(minutes=lock_minutes)
    username = username.strip()[:64]
    database.connect(reuse_if_open=True)
    failures = _recent_failures(username, ip, now, window)
    if len(failures) >= max_failures:
        locked_until = max(failures) + window
        with write_transaction():
            record_audit(username or "-", "login_locked", username, {"until": locked_until.isoformat()}, ip)
        return LoginOutcome(None, locked_until)
    user = User.get_or_none(User.username == username)
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if ok and user is not None and not user.active:
        ok = False
    with write_transaction():
        LoginAttempt.create(username=username, ip=ip, at=now, succeeded=ok)
        record_audit(username or "-", "login" if ok else "login_failed", username, {}, ip)
        if ok and user is not None and _hasher.check_needs_rehash(user.password_hash):
            User.update(password_hash=hash_password(password)).where(User.id == user.id).execute()
    if not ok:
        if len(failures) + 1 >= max_failures:
            return LoginOutcome(None, now + window)
        return LoginOutcome(None)
    return LoginOutcome(user)
