"""Authlib's OAuth 2 authorization server (RFC 6749 grants, RFC 7636 PKCE, RFC 7009 revocation) on our storage.

Authlib's grants call their storage hooks synchronously, while our storage is async: each Authlib call runs in a
small thread pool of its own, and the hooks hand their coroutine back to the event loop and wait for it
(`_run`). The pool is separate from the default executor so that a hook waiting on the loop can never starve
the loop's own `to_thread` work. Token and consent requests are rare; API requests never come here.
"""

from __future__ import annotations

import asyncio
import hmac
from collections import defaultdict
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import ClientMixin, InvalidScopeError, OAuth2Error, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge

from cara_fed.context import Context
from cara_fed.errors import RateLimited, ValidationError
from cara_fed.models import Account, OAuthApp, OAuthCode, OAuthToken
from cara_fed.services import accounts, oauth, two_factor

T = TypeVar("T")
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="oauth")


class Client(ClientMixin):
    def __init__(self, app: OAuthApp, password_grant: bool):
        self.app = app
        self.password_grant = password_grant

    def get_client_id(self) -> str:
        return self.app.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.app.redirect_uris[0] if len(self.app.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        try:
            return oauth.check_scopes(scope, self.app.scopes)
        except ValidationError:
            return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.app.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(oauth.digest(client_secret or ""), self.app.client_secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "client_credentials", "refresh_token") or (
            grant_type == "password" and self.password_grant)


class Code:
    """An authorization code row as Authlib reads it."""

    def __init__(self, row: OAuthCode):
        self.row = row
        self.code_challenge = row.code_challenge
        self.code_challenge_method = row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scopes


class Token:
    def __init__(self, row: OAuthToken):
        self.row = row

    def check_client(self, client: Client) -> bool:
        return self.row.app_id == client.app.id

    def get_scope(self) -> str:
        return self.row.scopes

    def get_expires_in(self) -> int:
        return 0

    def is_expired(self) -> bool:
        return False  # refresh tokens outlive the access token they came with

    def is_revoked(self) -> bool:
        return self.row.revoked_at is not None


class Request(OAuth2Request):
    """Parameters already read by aiohttp (query, form or JSON body) as Authlib's request object."""

    def __init__(self, method: str, uri: str, headers: dict[str, str], pairs: list[tuple[str, str]]):
        super().__init__(method, uri, headers=headers)
        data = {}
        datalist: defaultdict[str, list] = defaultdict(list)
        for key, value in pairs:
            data.setdefault(key, value)
            datalist[key].append(value)
        self.payload = BasicOAuth2Payload(data)
        self.payload._datalist = datalist
        self._pairs = data
        self.client_address = ""

    @property
    def form(self) -> dict[str, str]:
        return self._pairs

    @property
    def args(self) -> dict[str, str]:
        return self._pairs


class TwoFactorRequired(OAuth2Error):
    error = "invalid_grant"
    description = ("This account uses two-factor authentication, which the password grant cannot ask for. Sign in "
                   "through the browser instead (the authorization code flow).")


class TooManyAttempts(OAuth2Error):
    error = "invalid_grant"
    status_code = 429


class Server(AuthorizationServer):
    def __init__(self, ctx: Context):
        super().__init__(scopes_supported=sorted(oauth.KNOWN_SCOPES))
        self.ctx = ctx
        self.loop: asyncio.AbstractEventLoop | None = None
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [PkceS256(required=False)])
        self.register_grant(RefreshGrant)
        self.register_grant(ClientCredentialsGrant)
        if ctx.config.api.password_grant:
            self.register_grant(PasswordGrant)
        self.register_endpoint(Revocation)

    # The bridge: run Authlib (sync) off the loop; its hooks run our coroutines on the loop.

    async def call(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self.loop = asyncio.get_running_loop()
        return await self.loop.run_in_executor(_POOL, lambda: function(*args, **kwargs))

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    # AuthorizationServer hooks.

    def query_client(self, client_id: str) -> Client | None:
        app = self.run(oauth.app_by_client_id(self.ctx, client_id))
        return Client(app, self.ctx.config.api.password_grant) if app is not None else None

    def save_token(self, token: dict, request: OAuth2Request) -> None:
        pass  # _generate_token stored it already (only digests are kept, so it must see the raw values)

    def create_oauth2_request(self, request: Request) -> Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> tuple:
        return status, body, headers

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        pass

    def _generate_token(self, grant_type: str, client: Client, user: Account | None = None, scope: str | None = None,
                        expires_in: int | None = None, include_refresh_token: bool = True) -> dict:
        try:
            scopes = oauth.check_scopes(scope, client.app.scopes)
        except ValidationError as exc:
            raise InvalidScopeError(description="; ".join(exc.errors.values())) from None
        issued = self.run(oauth.issue_token(self.ctx, client.app, user.id if user is not None else None, scopes,
                                            refresh=include_refresh_token))
        token = {"access_token": issued.access_token, "token_type": "Bearer", "scope": scopes,
                 "created_at": int(issued.row.created_at.timestamp())}
        if issued.refresh_token:
            token["refresh_token"] = issued.refresh_token
        if issued.row.expires_at is not None:
            token["expires_in"] = int((issued.row.expires_at - issued.row.created_at).total_seconds())
        return token

    def account(self, account_id: int | None) -> Account | None:
        async def load() -> Account | None:
            async with self.ctx.sessions() as session:
                found = await session.get(Account, account_id) if account_id is not None else None
            return found if found is not None and found.status == "active" else None

        return self.run(load())


class PkceS256(CodeChallenge):
    """PKCE with S256 only (plain offers no protection against a leaked challenge)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 32  # ~190 bits; short enough to copy from the out-of-band page
    server: Server

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        method = data.get("code_challenge_method") or ("S256" if data.get("code_challenge") else None)
        self.server.run(oauth.save_code(self.server.ctx, request.client.app, request.user, code,
                                        data.get("redirect_uri") or "", request.scope,
                                        data.get("code_challenge"), method))

    def query_authorization_code(self, code: str, client: Client) -> Code | None:
        row = self.server.run(oauth.find_code(self.server.ctx, code, client.app))
        return Code(row) if row is not None else None

    def delete_authorization_code(self, authorization_code: Code) -> None:
        self.server.run(oauth.use_code(self.server.ctx, authorization_code.row.id))

    def authenticate_user(self, authorization_code: Code) -> Account | None:
        return self.server.account(authorization_code.row.account_id)


class RefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotate: each refresh token works once
    server: Server

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        row = self.server.run(oauth.find_token(self.server.ctx, refresh_token, "refresh_token"))
        return Token(row) if row is not None else None

    def authenticate_user(self, refresh_token: Token) -> Account | None:
        return self.server.account(refresh_token.row.account_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        self.server.run(oauth.revoke(self.server.ctx, refresh_token.row.id))


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    """Only when [api] password_grant is on. Same rate limit as the login form."""

    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    server: Server

    def authenticate_user(self, username: str, password: str) -> Account | None:
        address = getattr(self.request, "client_address", "") or "unknown"
        try:
            account = self.server.run(accounts.authenticate(self.server.ctx, username, password, address))
        except ValidationError:
            return None
        except RateLimited as exc:
            raise TooManyAttempts(description=str(exc)) from None
        if two_factor.is_enabled(account):  # a password alone must not open a two-factor account (issue 18)
            raise TwoFactorRequired()
        return account


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS
    server: Server

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        row = self.server.run(oauth.find_token(self.server.ctx, token_string, token_type_hint))
        return Token(row) if row is not None else None

    def revoke_token(self, token: Token, request: OAuth2Request) -> None:
        self.server.run(oauth.revoke(self.server.ctx, token.row.id))
