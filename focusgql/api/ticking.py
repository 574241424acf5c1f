"""graphql-transport-ws with a fast path for plain `sessionTicks` subscriptions
and `recordActivity` / `recordTabSwitch` mutations.

Strawberry's handler does the protocol; this only changes how an operation
that `TickPlans` can compile is run: the subscription is authorized and
started through the same service as the normal resolver, then each frame is
sent as pre-serialized JSON. Whatever the fast path cannot answer exactly
(a subscription's errors included) goes to Strawberry's own execution.

A compiled mutation is answered by `SignalAnswers` outside Strawberry's
operation table: it holds no subscription slot while its write is being
committed, so the per-connection limit counts only what really runs on.
"""

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocketDisconnect

from focusgql.api.context import Context
from focusgql.api.errors import classify
from focusgql.api.fastpath import TickPlan, TickPlans
from focusgql.api.ids import parse_session_id
from focusgql.api.personticks import PersonSender
from focusgql.api.signalpath import SignalAnswers
from focusgql.api.strawberry_internals import TransportWSHandler, WSOperation, raw_socket
from focusgql.api.wsprotocol import transport_message_problem
from focusgql.corked import Push, listen_of, push_of
from focusgql.domain.errors import DatabaseError, FocusError
from focusgql.services.frames import Frame


class _TickSender:
    """Sends the newest frame, one send at a time: a slow client skips frames
    instead of queueing them. A frame goes out at once when the server takes
    it synchronously (`push`, see focusgql/corked.py); otherwise the send is a
    short task started by the tick itself. Either way, between ticks a
    subscription holds no suspended coroutine or future (see services/live.py
    for why that matters at scale).

    Held until `release`, so frames pushed while the subscription is still
    being set up go out only if it succeeds."""

    def __init__(
        self,
        send: Callable[[Frame], Awaitable[None]],
        push: Callable[[Frame], bool] | None = None,
    ) -> None:
        self._send = send
        self._push = push
        self._pending: Frame | None = None
        self._task: asyncio.Task[None] | None = None
        self._held = True
        self.ended: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        """True once the final frame is sent, False if the client went away."""

    def deliver(self, frame: Frame) -> None:
        self._pending = frame
        if not self._held and self._task is None and not self.ended.done():
            push = self._push
            if push is not None and self._pushed(push, frame):
                return
            self._task = asyncio.create_task(self._drain())

    def _pushed(self, push: Callable[[Frame], bool], frame: Frame) -> bool:
        try:
            if not push(frame):
                return False  # not taking now: the send waits for it
        except Exception as error:
            if not self.ended.done():
                self.ended.set_exception(error)
            return True
        self._pending = None
        if not frame.session.status.is_running:
            self._end(True)
        return True

    def release(self) -> None:
        self._held = False
        if self._pending is not None:
            self.deliver(self._pending)

    def stop(self) -> None:
        self._held = True
        if self._task is not None:
            self._task.cancel()

    async def _drain(self) -> None:
        try:
            while (frame := self._pending) is not None:
                self._pending = None
                await self._send(frame)
                if not frame.session.status.is_running:
                    self._end(True)
                    return
        except (WebSocketDisconnect, RuntimeError):
            self._end(False)  # the client went away mid-send
        except Exception as error:
            if not self.ended.done():
                self.ended.set_exception(error)
        finally:
            self._task = None

    def _end(self, sent_final: bool) -> None:
        if not self.ended.done():
            self.ended.set_result(sent_final)


def _retrieve_outcome(task: asyncio.Task[None]) -> None:
    """A signal task's exception, taken so asyncio does not warn that it was
    never retrieved (as Strawberry does for its own tasks)."""
    if not task.cancelled():
        task.exception()


class TickingTransportWSHandler(TransportWSHandler[Context, None]):
    _signals: dict[str, asyncio.Task[None] | None] | None = None
    """Compiled mutations being answered, by id (not in Strawberry's operations)."""

    @property
    def _socket(self) -> Any:
        return raw_socket(self)

    @functools.cached_property
    def _push(self) -> Push | None:
        """The server's synchronous send, if it offers one (focusgql/corked.py)."""
        return push_of(self._socket.scope)

    @functools.cached_property
    def _answers(self) -> SignalAnswers | None:
        return getattr(self.view, "signal_answers", None)

    async def handle(self) -> None:
        listen = listen_of(self._socket.scope)
        if listen is None:
            return await super().handle()
        listen(self._listen)
        try:
            await super().handle()
        finally:
            listen(None)

    def _listen(self, text: str) -> bool:
        """A message taken as it arrives (focusgql/corked.py): a compiled
        signal answered without Strawberry's receive loop. False leaves it
        to that loop, which then handles it exactly as before."""
        if not self.connection_acknowledged or self._push is None:
            return False
        try:
            message = json.loads(text)
        except ValueError:
            return False
        if (
            not isinstance(message, dict)
            or message.get("type") != "subscribe"
            or transport_message_problem(message) is not None
        ):
            return False
        taken = self._answer_at_once(message)
        if taken and self._answers is not None:
            self._answers.metrics.signals_on_arrival += 1
        return taken

    def _answer_at_once(self, message: Any) -> bool:
        """Answer a compiled signal with no task, if it can be (see
        SignalAnswers.answer_soon); False, having done nothing, otherwise."""
        answers = self._answers
        user_id = self.context.known_user_id()
        if answers is None or user_id is None or self._push is None:
            return False
        payload = message["payload"]
        plan = answers.plans.get(payload["query"], payload.get("operationName"))
        session_id = plan.session_id(payload.get("variables")) if plan else None
        identifier = message["id"]
        if self._signals is None:
            self._signals = {}
        if (
            plan is None
            or not plan.is_mutation
            or session_id is None
            or not self.connection_acknowledged
            or identifier in self._signals
            or identifier in self.operations
        ):
            return False
        self._signals[identifier] = None  # taken until its `complete` is out
        reply = functools.partial(self._reply, identifier)
        if answers.answer_soon(plan, session_id, user_id, reply):
            return True
        del self._signals[identifier]
        return False

    async def handle_subscribe(self, message: Any) -> None:
        identifier = message["id"]
        if self._signals is None:
            self._signals = {}
        if identifier in self._signals:
            reason = f"Subscriber for {identifier} already exists"
            await self.websocket.close(code=4409, reason=reason)
            return
        if self._answer_at_once(message):
            return
        answers = self._answers
        payload = message["payload"]
        plan = (
            answers.plans.get(payload["query"], payload.get("operationName")) if answers else None
        )
        session_id = plan.session_id(payload.get("variables")) if plan else None
        if (
            answers is None
            or plan is None
            or not plan.is_mutation
            or session_id is None
            or not self.connection_acknowledged
            or identifier in self.operations
        ):
            return await super().handle_subscribe(message)
        task = asyncio.create_task(self._answer(answers, plan, session_id, identifier))
        self._signals[identifier] = task
        task.add_done_callback(_retrieve_outcome)

    async def _answer(
        self, answers: SignalAnswers, plan: TickPlan, session_id: str, identifier: str
    ) -> None:
        try:
            body = await answers.answer(
                plan, session_id, self.context.current_user_id, self.context.client_address
            )
        except BaseException:
            self._free(identifier)
            raise
        self._reply(identifier, body)

    def _reply(self, identifier: str, body: str) -> None:
        """Send a signal's answer: at once if the server takes it, else by a task."""
        prefix = '{"id":' + json.dumps(identifier) + ',"type":'
        texts = [prefix + '"next","payload":' + body + "}", prefix + '"complete"}']
        push = self._push
        while texts and push is not None and push(texts[0]):
            texts.pop(0)
        if not texts:
            self._free(identifier)
            return
        task = asyncio.create_task(self._send(identifier, texts))
        if self._signals is not None:
            self._signals[identifier] = task
        task.add_done_callback(_retrieve_outcome)

    async def _send(self, identifier: str, texts: list[str]) -> None:
        try:
            for text in texts:
                await self._socket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return  # the client went away before its answer
        finally:
            self._free(identifier)

    def _free(self, identifier: str) -> None:
        if self._signals is not None:
            self._signals.pop(identifier, None)

    async def run_operation(self, operation: WSOperation[Context, None]) -> None:
        plans: TickPlans | None = getattr(self.view, "tick_plans", None)
        plan = plans.get(operation.query, operation.operation_name) if plans else None
        if plans is not None and plan is not None and plan.follows_person:
            return await self._follow_person(operation, plans, plan)
        session_id = plan.session_id(operation.variables) if plan else None
        if plans is None or plan is None or session_id is None or plan.is_mutation:
            return await super().run_operation(operation)
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        socket = self._socket

        async def send(frame: Frame) -> None:
            if operation.completed:
                raise RuntimeError("operation completed")
            await socket.send_text(prefix + plans.encode(plan, frame) + "}")

        push_text = self._push

        def push(frame: Frame) -> bool:
            if operation.completed or push_text is None:
                return False  # the send raises, as it should
            return push_text(prefix + plans.encode(plan, frame) + "}")

        sender = _TickSender(send, push if push_text is not None else None)
        try:
            user_id = await self.context.current_user_id()
            following = await self.context.services.sessions.follow(
                user_id, parse_session_id(session_id), sender.deliver, plan.shows_activity_time
            )
        except DatabaseError as error:
            # Answer now (before FocusError: DatabaseUnavailable is one): running
            # it again would wait out another server selection.
            coded = classify(GraphQLError(str(error), original_error=error))
            return await operation.send_initial_errors([coded])
        except FocusError:
            # Strawberry reports it exactly as the resolver would.
            return await super().run_operation(operation)
        try:
            sender.release()
            if await sender.ended:
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):
            return  # the client went away mid-send
        finally:
            following.close()
            sender.stop()

    async def _follow_person(
        self, operation: WSOperation[Context, None], plans: TickPlans, plan: TickPlan
    ) -> None:
        """A compiled `mySession`: frames encoded as `sessionTicks`' are, from
        the same channels; it runs until the client completes it."""
        persons = self.context.services.persons
        if persons is None:
            return await super().run_operation(operation)
        prefix = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        socket = self._socket

        async def send(frame: Frame | None) -> None:
            if operation.completed:
                raise RuntimeError("operation completed")
            await socket.send_text(prefix + plans.encode(plan, frame) + "}")

        push_text = self._push

        def push(frame: Frame | None) -> bool:
            if operation.completed or push_text is None:
                return False
            return push_text(prefix + plans.encode(plan, frame) + "}")

        sender = PersonSender(send, push if push_text is not None else None)
        try:
            user_id = await self.context.current_user_id()
            following = await persons.follow(user_id, sender.deliver, plan.shows_activity_time)
        except DatabaseError as error:
            coded = classify(GraphQLError(str(error), original_error=error))
            return await operation.send_initial_errors([coded])
        except FocusError:
            return await super().run_operation(operation)
        try:
            sender.release()
            await sender.ended
        except (WebSocketDisconnect, RuntimeError):
            return
        finally:
            following.close()
            sender.stop()
