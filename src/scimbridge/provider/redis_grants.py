"""Grants in Redis, shared by every worker.

Keys, under a prefix::

    g:{grant id}          hash: the grant, its current refresh token hash,
                          and the names of the two index sets it is in
    r:{refresh hash}      the grant id, kept for rotated tokens too, so that
                          presenting one again is recognized as reuse
    m:{org id}:{member}   set of the member's grant ids
    o:{org id}            set of the organization's grant ids
    s:{sid}               set of the grant ids of one browser session
    t:{token id}          a revoked access token, until it would expire

Each operation is one Lua script, so a rotation and a reuse check cannot
interleave. Scripts build key names from the prefix, so every key of a store
must live on one Redis node.
"""

from datetime import datetime
from uuid import UUID

from redis.asyncio import Redis

from scimbridge.provider.grants import Grant, Rotation, RotationOutcome

DEFAULT_KEY_PREFIX = "scimbridge:op:"

_DROP = """
local function drop(prefix, gid)
  local gkey = prefix .. 'g:' .. gid
  local values = redis.call('HMGET', gkey, 'data', 'm', 's', 'o')
  if not values[1] then return false end
  redis.call('DEL', gkey)
  redis.call('SREM', values[2], gid)
  redis.call('SREM', values[3], gid)
  redis.call('SREM', values[4], gid)
  return values[1]
end
"""

_CREATE = """
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'refresh', ARGV[2], 'm', KEYS[3],
  's', KEYS[4], 'o', KEYS[5], 'client', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PXAT', ARGV[3])
for i = 3, 5 do
  redis.call('SADD', KEYS[i], ARGV[4])
  if redis.call('PEXPIRETIME', KEYS[i]) < tonumber(ARGV[3]) then
    redis.call('PEXPIREAT', KEYS[i], ARGV[3])
  end
end
return 1
"""

_ROTATE = (
    _DROP
    + """
local prefix, old, new = ARGV[1], ARGV[2], ARGV[3]
local gid = redis.call('GET', prefix .. 'r:' .. old)
if not gid then return {0} end
local gkey = prefix .. 'g:' .. gid
local current = redis.call('HGET', gkey, 'refresh')
if not current then return {0} end
if redis.call('HGET', gkey, 'client') ~= ARGV[4] then return {3} end
if current ~= old then
  local data = drop(prefix, gid)
  return {2, data}
end
redis.call('HSET', gkey, 'refresh', new)
redis.call('SET', prefix .. 'r:' .. new, gid, 'PXAT', redis.call('PEXPIRETIME', gkey))
return {1, redis.call('HGET', gkey, 'data')}
"""
)

_ACTIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
  return 1
end
return 0
"""

_REVOKE = (
    _DROP
    + """
return drop(ARGV[1], ARGV[2])
"""
)

_REVOKE_SET = (
    _DROP
    + """
local dropped = {}
for _, gid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local data = drop(ARGV[1], gid)
  if data then table.insert(dropped, data) end
end
redis.call('DEL', KEYS[1])
return dropped
"""
)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _millis(value: datetime) -> int:
    return int(value.timestamp() * 1000)


class RedisGrantStore:
    """A :class:`GrantStore` on one Redis database."""

    def __init__(self, client: Redis, *, key_prefix: str = DEFAULT_KEY_PREFIX) -> None:
        self._redis = client
        self._prefix = key_prefix
        self._create = client.register_script(_CREATE)
        self._rotate = client.register_script(_ROTATE)
        self._revoke = client.register_script(_REVOKE)
        self._revoke_set = client.register_script(_REVOKE_SET)
        self._active = client.register_script(_ACTIVE)

    def _member_key(self, org_id: UUID, member_id: UUID) -> str:
        return f"{self._prefix}m:{org_id}:{member_id}"

    async def create(self, grant: Grant, refresh_hash: str) -> None:
        await self._create(
            keys=[
                f"{self._prefix}g:{grant.id}",
                f"{self._prefix}r:{refresh_hash}",
                self._member_key(grant.org_id, grant.member_id),
                f"{self._prefix}s:{grant.sid}",
                f"{self._prefix}o:{grant.org_id}",
            ],
            args=[
                grant.to_json(),
                refresh_hash,
                _millis(grant.expires_at),
                grant.id,
                grant.client_id,
            ],
        )

    async def rotate(self, old_hash: str, new_hash: str, client_id: str) -> Rotation:
        result = await self._rotate(args=[self._prefix, old_hash, new_hash, client_id])
        code = int(result[0])
        if code == 0:
            return Rotation(RotationOutcome.unknown)
        if code == 3:
            return Rotation(RotationOutcome.wrong_client)
        grant = Grant.from_json(result[1]) if len(result) > 1 and result[1] else None
        if code == 2:
            return Rotation(RotationOutcome.reused, grant)
        return Rotation(RotationOutcome.rotated, grant)

    async def is_active(self, grant_id: str, token_id: str | None = None) -> bool:
        # One script call is one round trip, without a pipeline object per call.
        revoked_key = f"{self._prefix}t:{token_id}" if token_id else ""
        active = await self._active(
            keys=[f"{self._prefix}g:{grant_id}", revoked_key or f"{self._prefix}t:"]
        )
        return bool(active)

    async def get(self, grant_id: str) -> Grant | None:
        data = await self._redis.hget(f"{self._prefix}g:{grant_id}", "data")
        return None if data is None else Grant.from_json(data)

    async def revoke(self, grant_id: str) -> Grant | None:
        data = await self._revoke(args=[self._prefix, grant_id])
        return Grant.from_json(data) if data else None

    async def find_refresh(self, refresh_hash: str) -> tuple[Grant, bool] | None:
        grant_id = await self._redis.get(f"{self._prefix}r:{refresh_hash}")
        if grant_id is None:
            return None
        key = f"{self._prefix}g:{_text(grant_id)}"
        data, current = await self._redis.hmget(key, ["data", "refresh"])
        if data is None:
            return None
        is_current = current is not None and _text(current) == refresh_hash
        return Grant.from_json(data), is_current

    async def revoke_access_token(self, token_id: str, ttl_seconds: int) -> None:
        await self._redis.set(
            f"{self._prefix}t:{token_id}", b"1", ex=max(ttl_seconds, 1)
        )

    async def revoke_member(self, org_id: UUID, member_id: UUID) -> list[Grant]:
        dropped = await self._revoke_set(
            keys=[self._member_key(org_id, member_id)], args=[self._prefix]
        )
        return [Grant.from_json(data) for data in dropped]

    async def revoke_session(self, sid: str) -> list[Grant]:
        dropped = await self._revoke_set(
            keys=[f"{self._prefix}s:{sid}"], args=[self._prefix]
        )
        return [Grant.from_json(data) for data in dropped]

    async def revoke_org(self, org_id: UUID) -> list[Grant]:
        dropped = await self._revoke_set(
            keys=[f"{self._prefix}o:{org_id}"], args=[self._prefix]
        )
        return [Grant.from_json(data) for data in dropped]

    async def close(self) -> None:
        await self._redis.aclose(close_connection_pool=True)
