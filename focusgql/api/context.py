"""Per-request (or per-WebSocket) context: the services and who is asking."""

from dataclasses import dataclass, field
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from focusgql.domain.errors import FocusError, Unauthenticated
from focusgql.domain.user import User
from focusgql.services.bundle import Services


@dataclass(slots=True)
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None
    token: str | None = None
    connection_params: dict[str, object] | None = None
    valid_until: datetime | None = None
    """When the token a WebSocket signed in with expires (the socket closes then)."""
    _user: User | None = field(default=None, repr=False)
    _auth_error: FocusError | None = field(default=None, repr=False)

    async def current_user(self) -> User:
        """The authenticated user; UNAUTHENTICATED if there is none."""
        if self._user is not None:
            return self._user
        if self._auth_error is not None:
            raise self._auth_error
        if self.token is None:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
        try:
            self._user = await self.services.accounts.authenticate(self.token)
        except Unauthenticated as error:
            self._auth_error = error
            raise
        return self._user

    async def current_user_id(self) -> str:
        return (await self.current_user()).id

    def known_user(self) -> User | None:
        """Who is signed in, if already read (after a SignedIn permission, say)."""
        return self._user

    def known_user_id(self) -> str | None:
        """Who is signed in, if that is known without a read (a WebSocket after
        its connection_init); None otherwise."""
        return self._user.id if self._user is not None else None

    def known_token_generation(self) -> int:
        """The token generation the signed-in person had at sign-in (which their
        token carried: sign-in checks they match); 0 if nobody is signed in."""
        return self._user.token_generation if self._user is not None else 0

    def sign_in_connection(self, user: User, valid_until: datetime | None = None) -> None:
        self._user = user
        self._auth_error = None
        if valid_until is not None:
            self.valid_until = valid_until

    @property
    def client_address(self) -> str:
        """The peer's address (uvicorn's --forwarded-allow-ips decides whom to believe)."""
        client = self.request.client
        return client.host if client is not None else "unknown"


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()
