"""Errors of the station node.

Tree::

    StationError                 base; ``code`` is stable and shown in logs and sync status
    ├── ConfigError              a setting or the instance folder is unusable
    ├── InstanceError            the instance is not initialised or is damaged (keys, schema)
    ├── MigrationError           the database schema is newer than this program, or a migration failed
    ├── LogIntegrityError        the local event log is inconsistent (chain broken, rolled back)
    ├── NotEnrolledError         an action needs the station to be enrolled with central first
    ├── SyncError                talking to central failed (network, HTTP status, refused ack or bundle)
    └── ActionRefusedError       a case action is not allowed now (wrong state, role or level)
"""

from __future__ import annotations


class StationError(Exception):
    """Base of every error raised by the station node."""

    code = "station_error"


class ConfigError(StationError):
    """A setting or the instance folder is unusable."""

    code = "config"


class InstanceError(StationError):
    """The instance is not initialised or is damaged."""

    code = "instance"


class MigrationError(StationError):
    """The database schema is newer than this program, or a migration failed."""

    code = "migration"


class LogIntegrityError(StationError):
    """The local event log is inconsistent: chain broken or rolled back."""

    code = "log_integrity"


class NotEnrolledError(StationError):
    """The station must be enrolled with central first."""

    code = "not_enrolled"


class SyncError(StationError):
    """Talking to central failed: network, HTTP status, or a refused ack or bundle."""

    code = "sync"


class ActionRefusedError(StationError):
    """A case action is not allowed now (state, role or level)."""

    code = "action_refused"
