"""Errors services raise; the edges turn them into clear messages (never a 500)."""

from __future__ import annotations


class ValidationError(ValueError):
    """One or more fields are wrong. `errors` maps field name -> plain-words message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class NotFound(LookupError):
    pass


class PermissionDenied(PermissionError):
    pass


class RateLimited(RuntimeError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Overloaded(RuntimeError):
    """A bounded resource is full (e.g. the password-hashing pool): answer 503 with Retry-After at once rather
    than queueing without end."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
