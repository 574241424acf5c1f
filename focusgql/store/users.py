"""Users in MongoDB; the email index makes registration race-free."""

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from focusgql.domain.errors import EmailTaken
from focusgql.domain.user import User
from focusgql.store.documents import UserDocument
from focusgql.store.failures import domain_errors

Raw = dict[str, Any]


def _bound() -> AsyncCollection[Raw]:
    collection: AsyncCollection[Raw] = UserDocument.get_pymongo_collection()
    return collection


def to_domain(raw: Raw) -> User:
    created_at: datetime = raw["created_at"]
    return User(
        id=str(raw["_id"]),
        email=raw["email"],
        display_name=raw.get("display_name"),
        timezone=raw.get("timezone", "UTC"),
        created_at=created_at,
        daily_goal_minutes=raw.get("daily_goal_minutes", 0),
        token_generation=raw.get("token_generation", 0),
    )


@domain_errors
class MongoUserRepository:
    def __init__(self, collection: AsyncCollection[Raw] | None = None) -> None:
        self._collection = collection if collection is not None else _bound()
        self.collection = self._collection

    def new_id(self) -> str:
        return str(ObjectId())

    async def add(self, user: User, password_hash: str) -> User:
        try:
            await self._collection.insert_one(
                {
                    "_id": ObjectId(user.id),
                    "email": user.email,
                    "password_hash": password_hash,
                    "display_name": user.display_name,
                    "timezone": user.timezone,
                    "created_at": user.created_at,
                    "daily_goal_minutes": user.daily_goal_minutes,
                    "token_generation": user.token_generation,
                }
            )
        except DuplicateKeyError as error:
            raise EmailTaken(user.email) from error
        return user

    async def get(self, user_id: str) -> User | None:
        if not ObjectId.is_valid(user_id):
            return None
        raw = await self._collection.find_one({"_id": ObjectId(user_id)})
        return to_domain(raw) if raw else None

    async def credentials(self, email: str) -> tuple[User, str] | None:
        raw = await self._collection.find_one({"email": email})
        return (to_domain(raw), raw["password_hash"]) if raw else None

    async def password_hash(self, user_id: str) -> str | None:
        if not ObjectId.is_valid(user_id):
            return None
        raw = await self._collection.find_one(
            {"_id": ObjectId(user_id)}, projection={"password_hash": 1}
        )
        return str(raw["password_hash"]) if raw else None

    async def delete(self, user_id: str) -> bool:
        if not ObjectId.is_valid(user_id):
            return False
        result = await self._collection.delete_one({"_id": ObjectId(user_id)})
        return result.deleted_count == 1

    async def next_token_generation(
        self, user_id: str, password_hash: str | None = None
    ) -> User | None:
        """Move the person's token generation on (and set a new password hash, if
        given) in one atomic write; the person as they are now, or None if gone."""
        if not ObjectId.is_valid(user_id):
            return None
        change: Raw = {"$inc": {"token_generation": 1}}
        if password_hash is not None:
            change["$set"] = {"password_hash": password_hash}
        raw = await self._collection.find_one_and_update(
            {"_id": ObjectId(user_id)}, change, return_document=ReturnDocument.AFTER
        )
        return to_domain(raw) if raw else None

    async def update(self, user: User) -> User:
        await self._collection.update_one(
            {"_id": ObjectId(user.id)},
            {
                "$set": {
                    "display_name": user.display_name,
                    "timezone": user.timezone,
                    "daily_goal_minutes": user.daily_goal_minutes,
                }
            },
        )
        return user
