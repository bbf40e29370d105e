"""Measure session lookup and member revocation on a local Redis.

Run from the repository root::

    python -m bench.session_lookup --redis-url redis://127.0.0.1:6379/15

It compares ``RedisSessionStore.get`` with a plain redis-py GET of a value of
the same size, one request at a time, so the difference is the cost of
decoding and checking the session. It then times ``revoke_member`` of 1,000
sessions. It prints one Markdown table. Only a Redis on the loopback
interface or a Unix socket is accepted. Every key lives under a random prefix
and is deleted at the end.
"""

import argparse
import asyncio
import ipaddress
import platform
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from urllib.parse import urlsplit

import redis
from redis.asyncio import Redis

from scimbridge.sessions.codec import encode_session
from scimbridge.sessions.memory_store import EmbeddedSessionStore
from scimbridge.sessions.redis_store import RedisSessionStore
from scimbridge.sessions.store import Session, new_session_id, utc_now

MAX_REQUESTS = 200_000
MAX_ROUNDS = 50
REVOKED_SESSIONS = 1000
LOOKUP_SESSIONS = 1000


def loopback_url(url: str) -> str:
    """Return ``url`` if it names a Redis on this machine, else raise ValueError."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return url
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    host = parts.hostname or ""
    if host == "localhost":
        return url
    try:
        is_loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    if not is_loopback:
        raise ValueError(
            f"Redis host {host!r} is not a loopback address; "
            "this benchmark runs against 127.0.0.1 or ::1 only"
        )
    return url


def sample_session(org_id: uuid.UUID, member_id: uuid.UUID) -> Session:
    """Return a session with the fields a SAML login fills in."""
    now = utc_now()
    return Session(
        id=new_session_id(),
        org_id=org_id,
        member_id=member_id,
        connection_id=uuid.uuid4(),
        created_at=now,
        expires_at=now + timedelta(hours=8),
        auth_time=now,
        roles=("member", "billing-admin"),
        amr=("pwd", "mfa"),
        upstream={
            "session_index": "_" + uuid.uuid4().hex + uuid.uuid4().hex[:10],
            "name_id": "jane.doe@acme.example",
        },
        idle_expires_at=now + timedelta(minutes=30),
    )


async def time_interleaved(
    calls: Sequence[Callable[[int], Awaitable[object]]], requests: int
) -> list[list[float]]:
    """Await each call once per request, in turn; return latencies in µs per call.

    Interleaving spreads drift in machine load evenly over the calls compared.
    """
    latencies: list[list[float]] = [[] for _ in calls]
    for index in range(requests):
        for call, samples in zip(calls, latencies, strict=True):
            started = time.perf_counter_ns()
            await call(index)
            samples.append((time.perf_counter_ns() - started) / 1000)
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def bench_lookups(
    url: str, prefix: str, requests: int
) -> tuple[list[tuple[str, list[float]]], int]:
    """Time session gets on Redis and in memory, and raw GETs of same-size values."""
    store = RedisSessionStore.from_url(url, key_prefix=prefix)
    raw = Redis.from_url(url)
    memory = EmbeddedSessionStore()
    try:
        sessions = [
            sample_session(uuid.uuid4(), uuid.uuid4()) for _ in range(LOOKUP_SESSIONS)
        ]
        value_size = len(encode_session(sessions[0]))
        raw_keys = [f"{prefix}raw:{index}" for index in range(LOOKUP_SESSIONS)]
        for session, raw_key in zip(sessions, raw_keys, strict=True):
            await store.create(session)
            await memory.create(session)
            await raw.set(raw_key, b"x" * len(encode_session(session)), ex=600)

        async def store_get(index: int) -> object:
            return await store.get(sessions[index % LOOKUP_SESSIONS].id)

        async def raw_get(index: int) -> object:
            return await raw.get(raw_keys[index % LOOKUP_SESSIONS])

        async def memory_get(index: int) -> object:
            return await memory.get(sessions[index % LOOKUP_SESSIONS].id)

        names = [
            "raw redis-py GET, same-size value",
            "RedisSessionStore.get",
            "EmbeddedSessionStore.get",
        ]
        calls = [raw_get, store_get, memory_get]
        await time_interleaved(calls, min(1000, requests))
        latencies = await time_interleaved(calls, requests)
        return list(zip(names, latencies, strict=True)), value_size
    finally:
        await store.close()
        await raw.aclose()


async def bench_revoke(url: str, prefix: str, rounds: int) -> list[float]:
    """Time revoke_member of 1,000 sessions per round; return milliseconds."""
    store = RedisSessionStore.from_url(url, key_prefix=prefix)
    timings = []
    try:
        for _ in range(rounds):
            org_id, member_id = uuid.uuid4(), uuid.uuid4()
            for _ in range(REVOKED_SESSIONS):
                await store.create(sample_session(org_id, member_id))

            started = time.perf_counter()
            revoked = await store.revoke_member(org_id, member_id)
            timings.append((time.perf_counter() - started) * 1000)
            if revoked != REVOKED_SESSIONS:
                raise RuntimeError(
                    f"revoke_member ended {revoked} sessions, "
                    f"expected {REVOKED_SESSIONS}"
                )
        return timings
    finally:
        await store.close()


async def delete_prefix(url: str, prefix: str) -> None:
    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await client.unlink(*keys[start : start + 1000])
    finally:
        await client.aclose()


async def server_version(url: str) -> str:
    client = Redis.from_url(url)
    try:
        info = await client.info("server")
        return str(info.get("redis_version", "unknown"))
    finally:
        await client.aclose()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_report(
    lookups: list[tuple[str, list[float]]],
    value_size: int,
    revoke_ms: list[float],
    redis_version: str,
) -> None:
    print(
        f"Redis {redis_version}, redis-py {redis.__version__}, "
        f"Python {platform.python_version()}, {cpu_model()}; "
        f"session value {value_size} bytes; one request in flight.\n"
    )
    print("| operation | requests | p50 (µs) | p99 (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for name, latencies in lookups:
        p50 = percentile(latencies, 0.50)
        p99 = percentile(latencies, 0.99)
        print(f"| {name} | {len(latencies)} | {p50:.1f} | {p99:.1f} |")
    print()
    print("| operation | rounds | min (ms) | median (ms) | max (ms) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| revoke_member, {REVOKED_SESSIONS} sessions | {len(revoke_ms)} | "
        f"{min(revoke_ms):.2f} | {statistics.median(revoke_ms):.2f} | "
        f"{max(revoke_ms):.2f} |"
    )


async def run(url: str, requests: int, rounds: int) -> None:
    prefix = f"sbbench:{uuid.uuid4().hex[:12]}:"
    try:
        lookups, value_size = await bench_lookups(url, prefix, requests)
        revoke_ms = await bench_revoke(url, prefix, rounds)
        version = await server_version(url)
    finally:
        await delete_prefix(url, prefix)
    print_report(lookups, value_size, revoke_ms, version)


def bounded_int(maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between 1 and {maximum}")
        return value

    return parse


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/15",
        help="Redis on this machine; keys go under a random prefix and are deleted",
    )
    parser.add_argument(
        "--requests",
        type=bounded_int(MAX_REQUESTS),
        default=20_000,
        help=f"timed lookups per operation, at most {MAX_REQUESTS}",
    )
    parser.add_argument(
        "--revoke-rounds",
        type=bounded_int(MAX_ROUNDS),
        default=10,
        help=f"revocations of {REVOKED_SESSIONS} sessions, at most {MAX_ROUNDS}",
    )
    args = parser.parse_args()
    try:
        url = loopback_url(args.redis_url)
    except ValueError as exc:
        parser.error(str(exc))
    asyncio.run(run(url, args.requests, args.revoke_rounds))


if __name__ == "__main__":
    main()
