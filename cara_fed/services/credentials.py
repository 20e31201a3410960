"""Changing how a local account signs in: password and email (issue 16 item 16). Both ask for the current
password, so a browser left signed in is not enough to take the account over."""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select

from cara_fed.context import Context
from cara_fed.errors import ValidationError
from cara_fed.models import Account
from cara_fed.models.accounts import LoginSession
from cara_fed.services import account_email
from cara_fed.services.accounts import EMAIL_RE
from cara_fed.services.password_rules import password_problem


async def change(ctx: Context, account_id: int, current: str, *, new_password: str = "", new_email: str = "",
                 keep_session: str | None = None) -> Account:
    """Set a new password and/or email. A new password ends every other browser session (keep_session is the
    cookie token of the one making the change). With a mail host ([mail]), a new email is only requested here:
    it takes effect when the link mailed to it is followed (services/account_email.py)."""
    errors: dict[str, str] = {}
    new_email = new_email.strip().lower()
    if not new_password and not new_email:
        errors["new_password"] = "Enter a new password or a new email address."
    if new_password and (problem := password_problem(new_password)):
        errors["new_password"] = problem
    if new_email and not EMAIL_RE.match(new_email):
        errors["new_email"] = "That does not look like an email address."
    fresh = await ctx.hashing.hash(new_password) if new_password and not errors else ""
    async with ctx.transaction() as tx:
        account = await tx.session.get(Account, account_id)
        if account is None or not await ctx.hashing.verify(account.password_hash, current):
            errors["current_password"] = "Your current password is not right."
        confirm_by_mail = ctx.config.mail.enabled and bool(new_email)
        if new_email and not errors and not confirm_by_mail and new_email != account.email and await tx.session.scalar(  # type: ignore[union-attr]
                select(Account.id).where(Account.email == new_email, Account.id != account_id)):
            errors["new_email"] = "That email address is already used by another account."
        if errors:
            raise ValidationError(errors)
        assert account is not None
        if confirm_by_mail and new_email != account.email:
            # With mail, the new address must confirm first (a link); the old one is told (issue 18).
            await account_email.queue_email_change(ctx, tx, account, new_email)
        elif new_email:
            account.email = new_email
        if new_password:
            account.password_hash = fresh
            kept = hashlib.sha256(keep_session.encode()).hexdigest() if keep_session else ""
            await tx.session.execute(delete(LoginSession).where(LoginSession.account_id == account_id,
                                                                LoginSession.id != kept))
    return account
