"""The Strawberry ASGI view: builds the context, authenticates WebSockets, applies limits."""

from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult

from focusgql.api.context import Context, bearer_token
from focusgql.api.fastpath import TickPlan, TickPlans
from focusgql.api.httpstream import FRAMINGS, stream_ticks
from focusgql.api.ids import parse_session_id
from focusgql.api.jsonbody import decode_request_json
from focusgql.api.negotiation import (
    GRAPHQL_RESPONSE_JSON,
    is_request_error,
    response_media_type,
    wants_stream,
)
from focusgql.api.persisted import (
    ID_KEYS,
    PersistedDocuments,
    PersistedQueryError,
    load_manifest,
)
from focusgql.api.signalpath import SignalAnswers, TokenCache
from focusgql.api.strawberry_internals import (
    HTTPStreamTransport,
    LineFeedSSE,
    MultipartSubscriptionTransport,
    core_schema,
    set_stream_heartbeat,
    stream_transport_for,
    transport_ws_error,
)
from focusgql.api.ticking import TickingTransportWSHandler
from focusgql.api.transport import is_subscription
from focusgql.api.wsprotocol import LegacyWSGuard, TransportWSGuard
from focusgql.domain.errors import DatabaseError, FocusError, Unauthenticated
from focusgql.services.bundle import Services
from focusgql.services.frames import Frame
from focusgql.services.ports import FollowHandle
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


class MethodNotAllowed(HTTPException):
    """405 with the `Allow` header the spec asks for (a mutation over GET)."""

    def __init__(self, reason: str) -> None:
        super().__init__(405, reason)
        self.headers = {"Allow": "POST"}


def _names_a_document(params: Mapping[str, object]) -> bool:
    """A GET with a document, by its text or persisted (then GraphiQL is not meant)."""
    return any(key in params for key in ("query", "extensions", *ID_KEYS))


def _asks_for_ide(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return (
        request.method == "GET"
        and not _names_a_document(request.query_params)
        and any(kind in accept for kind in ("text/html", "*/*"))
    )


class _PersistedWS(TickingTransportWSHandler):
    """A `subscribe` naming a persisted document runs its text (APQ, trusted
    documents); one that cannot is answered with the protocol's `error`."""

    async def handle_subscribe(self, message: Any) -> None:
        documents: PersistedDocuments | None = getattr(self.view, "persisted", None)
        payload = message["payload"]
        if documents is not None:
            try:
                query = documents.resolve(payload)
            except PersistedQueryError as error:
                await self.send_message(transport_ws_error(message["id"], [error.formatted()]))
                return
            if query is not None and query != payload.get("query"):
                message = {**message, "payload": {**payload, "query": query}}
        await super().handle_subscribe(message)

    def _answer_at_once(self, message: Any) -> bool:
        # On arrival only what needs no resolving (or resolves to the text sent):
        # the rest, refusals included, goes through handle_subscribe.
        documents: PersistedDocuments | None = getattr(self.view, "persisted", None)
        if documents is not None:
            payload = message["payload"]
            try:
                if documents.resolve(payload) != payload.get("query"):
                    return False
            except PersistedQueryError:
                return False
        return super()._answer_at_once(message)


class _TransportWSHandler(TransportWSGuard, _PersistedWS):
    """The tick fast path, held to the protocol's messages and the token's lifetime."""


class FocusGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = _TransportWSHandler
    graphql_ws_handler_class = LegacyWSGuard
    stream_transport_classes_by_protocol: Mapping[str, type[HTTPStreamTransport]] = {
        MULTIPART_SUBSCRIPTION_PROTOCOL: MultipartSubscriptionTransport,
        GRAPHQL_SSE_PROTOCOL: LineFeedSSE,
    }

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
            # Subscriptions over HTTP too, for networks that drop WebSockets.
            subscription_protocols=(
                GRAPHQL_TRANSPORT_WS_PROTOCOL,
                GRAPHQL_WS_PROTOCOL,
                GRAPHQL_SSE_PROTOCOL,
                MULTIPART_SUBSCRIPTION_PROTOCOL,
            ),
        )
        self.stream_heartbeat_seconds = limits.stream_heartbeat_seconds
        set_stream_heartbeat(self, limits.stream_heartbeat_seconds)
        trusted = load_manifest(limits.trusted_documents) if limits.trusted_documents else None
        self.persisted = PersistedDocuments(trusted)
        self.services = services
        self.clock = services.accounts.clock
        self.tick_plans = TickPlans(
            core_schema(schema),
            max_aliases=limits.max_aliases,
            max_tokens=limits.max_query_tokens,
        )
        self.signal_answers = SignalAnswers(
            self.tick_plans, services.sessions, services.limits, services.metrics
        )
        self.tokens = TokenCache(services.accounts, self.clock)
        services.accounts.on_deleted.append(self.tokens.forget_user)
        services.accounts.on_revoked.append(
            lambda user: self.forget_revoked(user.id, user.token_generation)
        )
        self._ide_page = IDE_PAGE.read_text() if limits.introspection else ""

    def forget_revoked(self, user_id: str, generation: int) -> None:
        """The person's tokens before `generation` are revoked (here or in
        another process): close their sockets signed in with one, and read
        their tokens afresh."""
        self.tokens.forget_user(user_id)
        self.services.sockets.revoke(user_id, generation)

    def forget_deleted(self, user_id: str) -> None:
        """The account is gone (here or in another process)."""
        self.tokens.forget_user(user_id)
        self.services.sockets.close_user(user_id)

    def should_render_graphql_ide(self, request: Any) -> bool:
        return super().should_render_graphql_ide(request) and not _names_a_document(
            request.query_params
        )

    @property
    def graphql_ide_html(self) -> str:
        # Strawberry's page loads GraphiQL from unpkg.com and writes the request
        # headers, bearer token included, into the page URL; ours does neither.
        return self._ide_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive)
        accept = request.headers.get("accept")
        if (
            not _asks_for_ide(request)
            and not wants_stream(accept)
            and response_media_type(accept) is None
        ):
            refusal = PlainTextResponse(
                f"Not acceptable: answers are {GRAPHQL_RESPONSE_JSON} or application/json.",
                status_code=406,
            )
            return await refusal(scope, receive, send)
        if scope["method"] == "POST" and "json" in request.headers.get("content-type", ""):
            body = await request.body()  # the app's body limit applies here
            if await self._answer_signal(request, body, send):
                return
            if await self._stream_compiled(request, body, receive, send):
                return
            receive = _replay(body, receive)
        await self._serve_http(Request(scope, receive), send)

    async def _serve_http(self, request: Request, send: Send) -> None:
        """Strawberry's own HTTP branch, keeping an exception's headers (405's Allow)."""
        try:
            response = await self.run(request)
        except PersistedQueryError as error:
            response = self._persisted_refusal(request, error)
        except HTTPException as error:
            response = PlainTextResponse(
                error.reason,
                status_code=error.status_code,
                headers=getattr(error, "headers", None),
            )
        await response(request.scope, request.receive, send)

    def _persisted_refusal(self, request: Request, error: PersistedQueryError) -> Response:
        """A persisted-operation refusal as a GraphQL answer: nothing ran, so
        under the spec's media type it is a request error (400, no data)."""
        media_type = response_media_type(request.headers.get("accept")) or "application/json"
        return Response(
            self.encode_json(error.response()),
            status_code=400 if media_type == GRAPHQL_RESPONSE_JSON else 200,
            media_type=media_type,
        )

    def _compiled(self, body: bytes) -> tuple[TickPlan, str] | None:
        """The compiled plan of a JSON body and the session it names, if any."""
        try:
            data = decode_request_json(body)
        except ValueError:  # Strawberry answers it with its own 400
            return None
        if not isinstance(data, dict):
            return None
        try:
            query = self.persisted.resolve(data)
        except PersistedQueryError:
            return None  # Strawberry's path refuses it
        variables, name = data.get("variables"), data.get("operationName")
        if (
            query is None
            or not (variables is None or isinstance(variables, dict))
            or not (name is None or isinstance(name, str))
        ):
            return None
        plan = self.tick_plans.get(query, name)
        session_id = plan.session_id(variables) if plan else None
        return (plan, session_id) if plan is not None and session_id is not None else None

    async def _stream_compiled(
        self, request: Request, body: bytes, receive: Receive, send: Send
    ) -> bool:
        """Stream a compiled sessionTicks over SSE or multipart HTTP
        (focusgql/api/httpstream.py); False, having sent nothing, to leave the
        request to Strawberry (errors included: it reports them as the resolver)."""
        if not wants_stream(request.headers.get("accept")):
            return False
        transport = stream_transport_for(self, request.headers)
        framing = FRAMINGS.get(transport.protocol) if transport is not None else None
        token = bearer_token(request.headers.get("authorization"))
        compiled = self._compiled(body)
        if framing is None or token is None or compiled is None or compiled[0].is_mutation:
            return False
        plan, session_id = compiled
        plans = self.tick_plans
        try:
            signed_in = await self.services.accounts.sign_in_with_token(token)
            session = parse_session_id(session_id)

            async def follow(sink: Callable[[Frame], None]) -> FollowHandle:
                return await self.services.sessions.follow(
                    signed_in.user.id, session, sink, plan.shows_activity_time
                )

            await stream_ticks(
                framing,
                follow,
                lambda frame: plans.encode(plan, frame),
                receive,
                send,
                heartbeat_seconds=self.stream_heartbeat_seconds,
                clock=self.clock,
                valid_until=signed_in.valid_until,
            )
        except FocusError as error:
            if isinstance(error, DatabaseError):
                # The store's DatabaseUnavailable: it propagates, as the driver's
                # own error did before the store translated it.
                raise
            return False  # raised before anything was sent (see stream_ticks)
        return True

    async def _answer_signal(self, request: Request, body: bytes, send: Send) -> bool:
        """Answer a compiled recordActivity / recordTabSwitch POST; False to leave
        the request (untouched) to Strawberry."""
        media_type = response_media_type(request.headers.get("accept"))
        if media_type is None or wants_stream(request.headers.get("accept")):
            return False
        token = bearer_token(request.headers.get("authorization"))
        compiled = self._compiled(body)
        if token is None or compiled is None or not compiled[0].is_mutation:
            return False
        plan, session_id = compiled
        client = request.client
        payload = await self.signal_answers.answer(
            plan,
            session_id,
            lambda: self.tokens.user_id(token),
            client.host if client is not None else "unknown",
        )
        # A signal's answer is never a request error (the plan validated): 200 either way.
        response = Response(payload, media_type=media_type)
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
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            data.query = self.persisted.resolve(await self._document_reference(request, data))
        if (
            isinstance(data, GraphQLRequestData)
            and data.protocol != "http"
            and response_media_type(request.headers.get("accept")) is not None
            and not is_subscription(data.query, data.operation_name)
        ):
            # urql (and others) accept a stream for everything: a query or
            # mutation that may be answered as plain JSON is, with its status.
            data.protocol = "http"
        return data

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        if isinstance(request, Request):
            media_type = response_media_type(request.headers.get("accept"))
            sub_response.media_type = media_type
            # process_result sees the request only: it sets the status through this.
            request.state.graphql_sub_response = sub_response
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        sub_response = getattr(request.state, "graphql_sub_response", None)
        if (
            sub_response is not None
            and sub_response.media_type == GRAPHQL_RESPONSE_JSON
            and not wants_stream(request.headers.get("accept"))
            and is_request_error(response)
        ):
            # The spec, for its own media type: nothing executed, so 400 and no `data`.
            response.pop("data", None)
            sub_response.status_code = 400
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if sub_response.media_type == GRAPHQL_RESPONSE_JSON:
            response.headers["content-type"] = f"{GRAPHQL_RESPONSE_JSON}; charset=utf-8"
        return response

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(
                error.__cause__, InvalidOperationTypeError
            ):
                raise MethodNotAllowed(error.reason) from error
            raise

    async def _document_reference(
        self, request: AsyncHTTPRequestAdapter, data: GraphQLRequestData
    ) -> dict[str, object]:
        """What names the document: the text, the extensions and any id key
        (which Strawberry's request data leaves out)."""
        reference: dict[str, object] = {"query": data.query, "extensions": data.extensions}
        if request.method == "GET":
            raw: object = request.query_params
        else:
            try:
                raw = self.decode_json(await request.get_body())
            except ValueError:
                raw = {}
        if isinstance(raw, Mapping):
            reference.update({key: raw[key] for key in ID_KEYS if key in raw})
        return reference

    def decode_json(self, data: str | bytes) -> object:
        # HTTP bodies and WebSocket messages: any undecodable JSON is a 400 / 4400.
        return decode_request_json(data)
