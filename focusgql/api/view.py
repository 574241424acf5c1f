"""The Strawberry ASGI view: builds the context and authenticates WebSockets."""

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema import BaseSchema

from focusgql.api.context import Context, Services, bearer_token
from focusgql.api.fastpath import TickPlans
from focusgql.api.ticking import TickingTransportWSHandler
from focusgql.domain.errors import Unauthenticated


def _connection_token(params: dict[str, object] | None) -> str | None:
    if not params:
        return None
    for key in ("authorization", "Authorization"):
        value = params.get(key)
        if isinstance(value, str):
            return bearer_token(value) or value.strip() or None
    token = params.get("token")
    return token if isinstance(token, str) and token else None


class FocusGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = TickingTransportWSHandler

    def __init__(self, schema: BaseSchema, services: Services) -> None:
        super().__init__(
            schema,
            connection_init_wait_timeout=timedelta(seconds=10),
        )
        self.services = services
        self.tick_plans = TickPlans(schema._schema)  # type: ignore[attr-defined]

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
            user = await self.services.accounts.authenticate(token)
        except Unauthenticated as error:
            raise ConnectionRejectionError({"message": str(error)}) from error
        context.sign_in_connection(user)
        return None
