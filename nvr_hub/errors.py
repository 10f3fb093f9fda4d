"""The hub's error tree; one middleware maps it to HTTP statuses."""


class NvrHubError(Exception):
    """Base of every error the hub raises on purpose."""

    status = 500


class BadRequest(NvrHubError):
    """The client sent something invalid; the message names the field."""

    status = 400


class Unauthorized(NvrHubError):
    """No or bad credentials."""

    status = 401


class Forbidden(NvrHubError):
    """Credentials are fine but the role may not do this."""

    status = 403


class NotFound(NvrHubError):
    """The resource does not exist."""

    status = 404


class Conflict(NvrHubError):
    """The request clashes with the current state (duplicate, last admin, protected)."""

    status = 409


class PayloadTooLarge(NvrHubError):
    """The body exceeds the configured cap."""

    status = 413


class RateLimited(NvrHubError):
    """Too many attempts; `retry_after` seconds until the next is allowed."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(NvrHubError):
    """A dependency (camera, broker, disk) is down."""

    status = 503


class ConfigError(NvrHubError):
    """The configuration file or environment is invalid."""

    status = 500
