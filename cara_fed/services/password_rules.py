"""The password rule every form applies (sign-up, password change, reset by email): one place, so they agree."""

from __future__ import annotations

MIN_PASSWORD = 8


def password_problem(password: str) -> str | None:
    """What is wrong with a new password, in words for the form, or None."""
    return f"Use at least {MIN_PASSWORD} characters." if len(password) < MIN_PASSWORD else None
