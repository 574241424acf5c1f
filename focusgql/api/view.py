"""The Strawberry ASGI view: builds the context, authenticates WebSockets, applies limits."""

from datetime import timedelta
from pathlib import Path

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.schema import BaseSchema

from focusgql.api.context import Context, Services, bearer_token
from focusgql.api.fastpath import TickPlans
from focusgql.api.jsonbody import decode_request_json
from focusgql.api.signalpath import SignalAnswers, TokenCache
from focusgql.api.ticking import TickingTransportWSHandler
from focusgql.api.wsprotocol import LegacyWSGuard, TransportWSGuard
from focusgql.domain.errors import Unauthenticated
from focusgql.settings import Settings

# GraphiQL from files vendored in the package (static/vendor/graphiql), not from a CDN.
IDE_PAGE = Path(__file__).resolve().parent.parent / "static" / "graphiql.html"


def _replay(body: bytes, original: Receive) -> Receive:
    """A receive that hands on a body already read, then the real one."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()

    return receive


def _connection_token(params: dict[str, object] | None) -> str | None:
    if not params:
        return None
    for key in ("authorization", "Authorization"):
        value = params.get(key)
        if isinstance(value, str):
            return bearer_token(value) or value.strip() or None
    token = params.get("token")
    return token if isinstance(token, str) and token else None


class _TransportWSHandler(TransportWSGuard, TickingTransportWSHandler):
    """The tick fast path, held to the protocol's messages and the token's lifetime."""


class FocusGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = LegacyWSGuard

    def __init__(
        self, schema: BaseSchema, services: Services, settings: Settings | None = None
    ) -> None:
        limits = settings or Settings.model_construct()
        super().__init__(
            schema,
            # GraphiQL needs introspection: without it there is no IDE to serve.
            graphql_ide="graphiql" if limits.introspection else None,
            connection_init_wait_timeout=timedelta(seconds=limits.connection_init_timeout_seconds),
            max_subscriptions_per_connection=limits.max_subscriptions_per_connection,
            # Same-origin and Origin-less (non-browser) clients are always let in.
            allowed_origins=limits.allowed_origins,
        )
        self.services = services
        self.clock = services.accounts.clock
        self.tick_plans = TickPlans(
            schema._schema,  # type: ignore[attr-defined]
            max_aliases=limits.max_aliases,
            max_tokens=limits.max_query_tokens,
        )
        self.signal_answers = SignalAnswers(
            self.tick_plans, services.sessions, services.limits, services.metrics
        )
        self.tokens = TokenCache(services.accounts, self.clock)
        services.accounts.on_deleted.append(self.tokens.forget_user)
        self._ide_page = IDE_PAGE.read_text() if limits.introspection else ""

    @property
    def graphql_ide_html(self) -> str:
        # Strawberry's page loads GraphiQL from unpkg.com and writes the request
        # headers, bearer token included, into the page URL; ours does neither.
        return self._ide_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            request = Request(scope, receive)
            if "json" in request.headers.get("content-type", ""):
                body = await request.body()  # the app's body limit applies here
                if await self._answer_signal(request, body, send):
                    return
                receive = _replay(body, receive)
        await super().__call__(scope, receive, send)

    async def _answer_signal(self, request: Request, body: bytes, send: Send) -> bool:
        """Answer a compiled recordActivity / recordTabSwitch POST; False to leave
        the request (untouched) to Strawberry."""
        accept = request.headers.get("accept", "*/*")
        if not any(kind in accept for kind in ("application/json", "*/*", "application/*")):
            return False
        token = bearer_token(request.headers.get("authorization"))
        try:
            data = decode_request_json(body)
        except ValueError:  # Strawberry answers it with its own 400
            return False
        if token is None or not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return False
        variables, name = data.get("variables"), data.get("operationName")
        if not (variables is None or isinstance(variables, dict)) or not (
            name is None or isinstance(name, str)
        ):
            return False
        plan = self.tick_plans.get(data["query"], name)
        session_id = plan.session_id(variables) if plan else None
        if plan is None or not plan.is_mutation or session_id is None:
            return False
        client = request.client
        payload = await self.signal_answers.answer(
            plan,
            session_id,
            lambda: self.tokens.user_id(token),
            client.host if client is not None else "unknown",
        )
        response = Response(payload, media_type="application/json")
        await response(request.scope, request.receive, send)
        return True

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        if isinstance(request, WebSocket):
            # The token arrives later, in connection_init: see on_ws_connect.
            token = request.query_params.get("token") or None
        else:
            token = bearer_token(request.headers.get("authorization"))
        return Context(services=self.services, request=request, response=response, token=token)

    async def on_ws_connect(self, context: Context) -> None:
        token = _connection_token(context.connection_params) or context.token
        if token is None:
            return None  # anonymous: register/login work, the rest says UNAUTHENTICATED
        try:
            signed_in = await self.services.accounts.sign_in_with_token(token)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": str(error)}) from error
        context.sign_in_connection(signed_in.user, signed_in.valid_until)
        return None

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        # Strawberry expects a JSON object (or a batch array, which it refuses
        # with 400 as batching is off); anything else would fail inside it as a 500.
        if request.method == "POST" and "json" in (request.content_type or ""):
            body = (await request.get_body()).lstrip()
            if body and body[:1] not in (b"{", b"["):
                raise HTTPException(400, "The request body must be a JSON object.")
        return await super().parse_http_body(request)

    def decode_json(self, data: str | bytes) -> object:
        # HTTP bodies and WebSocket messages: any undecodable JSON is a 400 / 4400.
        return decode_request_json(data)
