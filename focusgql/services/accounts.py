"""Registering, signing in, and knowing who a token belongs to."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from focusgql.auth import DUMMY_HASH, TokenIssuer, hash_password, verify_password
from focusgql.clock import Clock
from focusgql.domain.errors import BadUserInput, Conflict, EmailTaken, Unauthenticated
from focusgql.domain.goals import check_daily_goal
from focusgql.domain.user import (
    PASSWORD_LENGTH_RANGE,
    User,
    check_display_name,
    check_password,
    check_timezone,
    normalize_email,
)
from focusgql.services.ports import UserRepository

log = logging.getLogger(__name__)

Eraser = Callable[[str], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    user: User


@dataclass(frozen=True, slots=True)
class TokenSignIn:
    user: User
    valid_until: datetime


class AccountService:
    def __init__(self, repo: UserRepository, tokens: TokenIssuer, clock: Clock) -> None:
        self.repo = repo
        self.tokens = tokens
        self.clock = clock
        self.erasers: list[Eraser] = []
        """What else holds a person's data (sessions, webhooks): each removes theirs."""
        self.on_deleted: list[Callable[[str], None]] = []
        """Told of a deleted account, to let go of what this process holds of it
        (cached tokens, open sockets)."""
        self.on_revoked: list[Callable[[User], None]] = []
        """Told of a person whose tokens were revoked (their new generation in
        the user), to let go of older ones held here. Other processes learn it
        from the users' change feed (store/userfeed.py)."""

    async def register(
        self, email: str, password: str, display_name: str | None = None, timezone: str = "UTC"
    ) -> SignedIn:
        user = User(
            id=self.repo.new_id(),
            email=normalize_email(email),
            display_name=check_display_name(display_name),
            timezone=check_timezone(timezone),
            created_at=self.clock.now(),
        )
        # Argon2 is deliberately slow: keep it off the event loop.
        password_hash = await asyncio.to_thread(hash_password, check_password(password))
        try:
            await self.repo.add(user, password_hash)
        except EmailTaken as error:
            raise Conflict("an account with this email already exists", field="email") from error
        log.info("registered user %s", user.id)
        return self._signed_in(user)

    async def login(self, email: str, password: str) -> SignedIn:
        if len(password) > PASSWORD_LENGTH_RANGE[1]:
            # No account has such a password: refuse before hashing a huge string.
            raise Unauthenticated("invalid email or password")
        try:
            found = await self.repo.credentials(normalize_email(email))
        except BadUserInput:
            found = None  # same answer as for an unknown address
        password_hash = found[1] if found else DUMMY_HASH
        ok = await asyncio.to_thread(verify_password, password_hash, password)
        if found is None or not ok:
            raise Unauthenticated("invalid email or password")
        return self._signed_in(found[0])

    async def authenticate(self, token: str) -> User:
        return (await self.sign_in_with_token(token)).user

    async def sign_in_with_token(self, token: str) -> TokenSignIn:
        """Who the token names and until when it is valid; Unauthenticated otherwise."""
        verified = self.tokens.verify(token, self.clock.now())
        user = await self.repo.get(verified.subject)
        if user is None:
            raise Unauthenticated("the account behind this token no longer exists")
        if verified.generation != user.token_generation:
            raise Unauthenticated("this token was revoked: sign in again")
        return TokenSignIn(user=user, valid_until=verified.valid_until)

    async def update_profile(
        self,
        user: User,
        display_name: str | None = None,
        timezone: str | None = None,
        daily_goal_minutes: int | None = None,
    ) -> User:
        changed = replace(
            user,
            display_name=check_display_name(display_name)
            if display_name is not None
            else user.display_name,
            timezone=check_timezone(timezone) if timezone is not None else user.timezone,
            daily_goal_minutes=user.daily_goal_minutes
            if daily_goal_minutes is None
            else check_daily_goal(daily_goal_minutes),
        )
        return await self.repo.update(changed)

    async def delete_account(self, user: User, password: str) -> None:
        """Remove the person and everything of theirs, once they confirm with
        their password. The account goes first, so from then on their tokens
        name nobody (every request checks the account exists); the erasers
        then run twice, the second time for anything a request that passed
        that check just before wrote meanwhile."""
        if len(password) > PASSWORD_LENGTH_RANGE[1]:
            raise BadUserInput("the password is not right", field="password")
        password_hash = await self.repo.password_hash(user.id) or DUMMY_HASH
        if not await asyncio.to_thread(verify_password, password_hash, password):
            raise BadUserInput("the password is not right", field="password")
        await self.repo.delete(user.id)
        for _ in range(2):
            for erase in self.erasers:
                await erase(user.id)
        for listener in self.on_deleted:
            listener(user.id)
        log.info("deleted user %s and their data", user.id)

    async def sign_out_everywhere(self, user: User) -> User:
        """Revoke every token the person holds, this one included."""
        return await self._revoke(user.id)

    async def change_password(self, user: User, current: str, new: str) -> SignedIn:
        """A new password, confirmed with the current one: every token issued
        before stops working, and the answer carries a fresh one."""
        try:
            check_password(new)
        except BadUserInput as error:
            raise BadUserInput(str(error), field="newPassword") from error
        if len(current) > PASSWORD_LENGTH_RANGE[1]:
            raise BadUserInput("the current password is not right", field="currentPassword")
        password_hash = await self.repo.password_hash(user.id) or DUMMY_HASH
        if not await asyncio.to_thread(verify_password, password_hash, current):
            raise BadUserInput("the current password is not right", field="currentPassword")
        new_hash = await asyncio.to_thread(hash_password, new)
        return self._signed_in(await self._revoke(user.id, new_hash))

    async def _revoke(self, user_id: str, password_hash: str | None = None) -> User:
        revoked = await self.repo.next_token_generation(user_id, password_hash)
        if revoked is None:
            raise Unauthenticated("the account behind this token no longer exists")
        for listener in self.on_revoked:
            listener(revoked)
        log.info("revoked the tokens of user %s", user_id)
        return revoked

    def _signed_in(self, user: User) -> SignedIn:
        token = self.tokens.issue(user.id, self.clock.now(), user.token_generation)
        return SignedIn(token=token, user=user)
