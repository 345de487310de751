"""Errors of the central node, each with a stable ``code`` the error handler and the API show.

Tree::

    CentralError
    ├── ConfigError              a setting or the instance folder is unusable
    ├── InstanceError            the instance was not initialised, or keys are missing
    ├── MigrationError           the database schema is behind the code
    ├── NotFoundError            a record the request names does not exist
    ├── EnrollmentRefusedError   an enrollment code or request cannot be used
    ├── UploadError              an uploaded file is refused before storage (size, name)
    └── RegistrationError        a station cannot be registered as asked
"""

from __future__ import annotations


class CentralError(Exception):
    """Base of every error raised by the central node."""

    code = "central_error"
    http_status = 500

    def __init__(self, message: str = "", code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code)
        if code:
            self.code = code
        if http_status:
            self.http_status = http_status


class ConfigError(CentralError):
    """A setting or the instance folder is unusable."""

    code = "config"


class InstanceError(CentralError):
    """The instance folder was not initialised or its keys are missing."""

    code = "instance"


class MigrationError(CentralError):
    """The database schema is behind the code: run `yiciban-central init`."""

    code = "migration"


class NotFoundError(CentralError):
    """The record named by the request does not exist."""

    code = "not_found"
    http_status = 404


class EnrollmentRefusedError(CentralError):
    """An enrollment code or request cannot be used."""

    code = "enrollment_refused"
    http_status = 400


class UploadError(CentralError):
    """An uploaded file was refused before it was stored."""

    code = "upload_refused"
    http_status = 400


class RegistrationError(CentralError):
    """A station cannot be registered as asked."""

    code = "registration"
    http_status = 400
