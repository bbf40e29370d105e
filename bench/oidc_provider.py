"""Measure the OpenID Provider: code exchanges per second, introspection and userinfo.

Run from the repository root, with PostgreSQL and Redis on 127.0.0.1::

    python -m bench.oidc_provider --output bench-oidc.json

scimbridge runs under uvicorn in a subprocess on 127.0.0.1, on a fresh
PostgreSQL database and a Redis database of its own (``--redis-url``, which
this script empties at the start). The script signs one member in by
writing a session to the same Redis, as a finished SAML login would, and
registers one confidential app. Then, in three phases:

- exchanges: authorization codes are issued in batches (each code lives 60
  seconds) and redeemed at ``/oauth2/token``; only the redemption is timed.
- introspection and userinfo: one access token is checked again and again,
  with 1 and with 8 requests in flight, over keep-alive connections that
  send prepared request bytes, so the client's own cost stays small.

Each row also gives the server process's CPU time per request, which other
work on a shared machine does not inflate as it does the latencies.

The raw baseline is RS256 signing and verification with ``cryptography`` in
this process, on a payload of the same size as an access token: a code
exchange signs two tokens, an introspection verifies one.
"""

import argparse
import asyncio
import base64
import hashlib
import json
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from redis.asyncio import Redis

from bench.databases import create_schema, recreate_postgres_database
from bench.load import machine_description, percentile
from bench.revision import describe_source
from bench.servers import RunningServer, scimbridge_spec
from scimbridge.config import Settings
from scimbridge.directory.clock import utc_now
from scimbridge.services import build_services
from scimbridge.sessions.cookies import SECURE_COOKIE_NAME
from scimbridge.sessions.store import Session, new_session_id

REDIRECT_URI = "https://app.example.com/callback"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
INTROSPECTION_TARGET_P99_MS = 5.0


@dataclass
class Latency:
    operation: str
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float = float("nan")
    """Server process CPU time per request, from the operating system's counters."""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Setup:
    base_url: str
    cookie: str
    client_id: str
    client_secret: str


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def prepare(settings: Settings, base_url: str) -> Setup:
    """Create an org, a member, an app and a signed-in session for the server."""
    services = build_services(settings)
    try:
        org = await services.orgs.create("bench-op", "Benchmark org")
        issued_token = await services.scim_tokens.create(org)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            created = await client.post(
                "/scim/v2/Users",
                headers={
                    "Authorization": f"Bearer {issued_token.secret}",
                    "Content-Type": "application/scim+json",
                },
                json={
                    "schemas": [USER_SCHEMA],
                    "userName": "ada@bench.example",
                    "emails": [{"value": "ada@bench.example", "primary": True}],
                },
            )
            created.raise_for_status()
        member_id = uuid.UUID(created.json()["id"])
        app = await services.provider.clients.create("bench", [REDIRECT_URI])
        now = utc_now()
        session = Session(
            id=new_session_id(),
            org_id=org.id,
            member_id=member_id,
            connection_id=uuid.uuid4(),
            created_at=now,
            expires_at=now + timedelta(hours=2),
            auth_time=now,
            roles=("member",),
            amr=("saml",),
        )
        await services.sessions.create(session)
        assert app.secret is not None
        return Setup(base_url, session.id, app.client.id, app.secret)
    finally:
        await services.close()


async def issue_codes(
    client: httpx.AsyncClient, setup: Setup, count: int
) -> list[tuple[str, str]]:
    codes = []
    for _ in range(count):
        verifier, challenge = _pkce()
        response = await client.get(
            "/oauth2/authorize",
            params={
                "client_id": setup.client_id,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": "openid email",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "nonce": secrets.token_hex(8),
            },
        )
        query = dict(parse_qsl(urlsplit(response.headers["location"]).query))
        codes.append((query["code"], verifier))
    return codes


async def timed(
    operation: str, connections: int, calls: list[Any]
) -> tuple[Latency, list[httpx.Response]]:
    """Run the request factories ``calls`` with ``connections`` in flight."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for call in calls:
        queue.put_nowait(call)
    durations: list[float] = []
    responses: list[httpx.Response] = []

    async def worker() -> None:
        while not queue.empty():
            call = queue.get_nowait()
            started = time.perf_counter()
            response = await call()
            durations.append((time.perf_counter() - started) * 1000)
            responses.append(response)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    seconds = time.perf_counter() - started
    durations.sort()
    errors = sum(1 for response in responses if response.status_code != 200)
    return (
        Latency(
            operation,
            connections,
            len(calls),
            seconds,
            percentile(durations, 0.5),
            percentile(durations, 0.99),
            errors,
        ),
        responses,
    )


async def measure_exchanges(
    setup: Setup, total: int, batch: int, connections: int
) -> Latency:
    cookies = {SECURE_COOKIE_NAME: setup.cookie}
    auth = (setup.client_id, setup.client_secret)
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(
        base_url=setup.base_url, cookies=cookies, timeout=60, limits=limits
    ) as client:
        results: list[Latency] = []
        while sum(result.requests for result in results) < total:
            codes = await issue_codes(client, setup, batch)

            def exchange(code: str, verifier: str) -> Any:
                return lambda: client.post(
                    "/oauth2/token",
                    auth=auth,
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "code_verifier": verifier,
                        "redirect_uri": REDIRECT_URI,
                    },
                )

            latency, _ = await timed(
                "token exchange",
                connections,
                [exchange(code, verifier) for code, verifier in codes],
            )
            results.append(latency)
    durations_seconds = sum(result.seconds for result in results)
    return Latency(
        "code exchange at /oauth2/token",
        connections,
        sum(result.requests for result in results),
        durations_seconds,
        statistics.median(result.p50_ms for result in results),
        max(result.p99_ms for result in results),
        sum(result.errors for result in results),
    )


async def access_token(setup: Setup) -> str:
    cookies = {SECURE_COOKIE_NAME: setup.cookie}
    async with httpx.AsyncClient(
        base_url=setup.base_url, cookies=cookies, timeout=60
    ) as client:
        code, verifier = (await issue_codes(client, setup, 1))[0]
        response = await client.post(
            "/oauth2/token",
            auth=(setup.client_id, setup.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "code_verifier": verifier,
                "redirect_uri": REDIRECT_URI,
            },
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token


class RawConnection:
    """A keep-alive HTTP/1.1 connection that sends prepared request bytes.

    The checks are timed with it in place of httpx, whose own CPU time per
    request is of the same order as the server's and would be counted in the
    latency on a shared machine.
    """

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, base_url: str) -> "RawConnection":
        parts = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self._reader.readexactly(length)
        return status, body

    def close(self) -> None:
        self._writer.close()


def raw_request(
    method: str, path: str, host: str, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def timed_raw(
    operation: str, base_url: str, connections: int, requests: int, request: bytes
) -> tuple[Latency, list[bytes]]:
    """Send ``request`` ``requests`` times over ``connections`` connections."""
    pool = [await RawConnection.open(base_url) for _ in range(connections)]
    remaining = requests
    durations: list[float] = []
    bodies: list[bytes] = []
    errors = 0

    async def worker(connection: RawConnection) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            status, body = await connection.exchange(request)
            durations.append((time.perf_counter() - started) * 1000)
            bodies.append(body)
            errors += status != 200

    started = time.perf_counter()
    await asyncio.gather(*(worker(connection) for connection in pool))
    seconds = time.perf_counter() - started
    for connection in pool:
        connection.close()
    durations.sort()
    latency = Latency(
        operation,
        connections,
        len(durations),
        seconds,
        percentile(durations, 0.5),
        percentile(durations, 0.99),
        errors,
    )
    return latency, bodies


async def measure_checks(
    setup: Setup,
    token: str,
    requests: int,
    connections: int,
    server_cpu: Callable[[], float],
) -> list[Latency]:
    host = urlsplit(setup.base_url).netloc
    basic = base64.b64encode(f"{setup.client_id}:{setup.client_secret}".encode())
    form = f"token={token}".encode()
    introspect = raw_request(
        "POST",
        "/oauth2/introspect",
        host,
        {
            "Authorization": f"Basic {basic.decode()}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        form,
    )
    userinfo_request = raw_request(
        "GET", "/oauth2/userinfo", host, {"Authorization": f"Bearer {token}"}
    )
    # Warm the connections and the server's key and client caches.
    await timed_raw("warm-up", setup.base_url, 1, 50, introspect)
    results = []
    before = server_cpu()
    introspection, bodies = await timed_raw(
        "introspection", setup.base_url, connections, requests, introspect
    )
    introspection.server_cpu_ms = (server_cpu() - before) / requests * 1000
    if any(json.loads(body).get("active") is not True for body in bodies):
        raise RuntimeError("introspection reported the token inactive")
    results.append(introspection)
    before = server_cpu()
    userinfo, _ = await timed_raw(
        "userinfo", setup.base_url, connections, requests, userinfo_request
    )
    userinfo.server_cpu_ms = (server_cpu() - before) / requests * 1000
    results.append(userinfo)
    return results


def raw_rs256(rounds: int, payload_bytes: int) -> dict[str, float]:
    """Time RS256 sign and verify of a payload like an access token's."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    data = secrets.token_bytes(payload_bytes)
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    started = time.perf_counter()
    for _ in range(rounds):
        key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    sign_us = (time.perf_counter() - started) / rounds * 1e6
    started = time.perf_counter()
    for _ in range(rounds):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    verify_us = (time.perf_counter() - started) / rounds * 1e6
    return {"sign_us": sign_us, "verify_us": verify_us}


def report(
    results: list[Latency], raw: dict[str, float], context: dict[str, Any]
) -> str:
    lines = [
        f"source: {context['source']}",
        f"machine: {context['machine']}",
        "",
        "| operation | in flight | requests | per second | p50 (ms) | p99 (ms) "
        "| server CPU per request (ms) | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        lines.append(
            f"| {result.operation} | {result.connections} | {result.requests:,} "
            f"| {result.per_second:,.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} "
            f"| {result.server_cpu_ms:.2f} | {result.errors} |"
        )
    sign_rate = 1e6 / raw["sign_us"]
    verify_rate = 1e6 / raw["verify_us"]
    lines += [
        "",
        f"raw RS256 in this process: sign {raw['sign_us']:.0f} µs "
        f"({sign_rate:,.0f}/s), verify {raw['verify_us']:.0f} µs "
        f"({verify_rate:,.0f}/s); a code exchange signs two tokens, so one core "
        f"bounds it at {sign_rate / 2:,.0f}/s",
    ]
    for result in results:
        if result.operation != "introspection":
            continue
        verdict = "met" if result.p99_ms < INTROSPECTION_TARGET_P99_MS else "not met"
        lines.append(
            f"introspection p99 under {INTROSPECTION_TARGET_P99_MS} ms with "
            f"{result.connections} in flight: {verdict} ({result.p99_ms:.2f} ms)"
        )
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> int:
    database_url = await recreate_postgres_database(args.postgres, args.database)
    await create_schema(database_url)
    redis = Redis.from_url(args.redis_url)
    await redis.flushdb()
    await redis.aclose()
    spec = scimbridge_spec("scimbridge", database_url, "unused", 1, 1000)
    base_url = f"http://127.0.0.1:{spec.port}"
    secret_key = secrets.token_urlsafe(32)
    spec.env.update(
        {
            "SCIMBRIDGE_REDIS_URL": args.redis_url,
            "SCIMBRIDGE_SECRET_KEY": secret_key,
            "SCIMBRIDGE_BASE_URL": base_url,
        }
    )
    settings = Settings(
        database_url=database_url,
        redis_url=args.redis_url,
        secret_key=secret_key,
        base_url=base_url,
    )
    context = {"source": describe_source(), "machine": machine_description()}
    print(f"{context['source']}; load average {context['machine']['load_average']}")
    with tempfile.TemporaryDirectory() as logs:
        async with RunningServer(spec, Path(logs)) as server:
            setup = await prepare(settings, base_url)
            results = []
            for connections in args.connections:
                before = server.cpu_seconds()
                exchanges = await measure_exchanges(
                    setup, args.exchanges, args.batch, connections
                )
                # Issuing the codes is included: one authorize per exchange.
                exchanges.server_cpu_ms = (
                    (server.cpu_seconds() - before) / exchanges.requests * 1000
                )
                results.append(exchanges)
            token = await access_token(setup)
            for connections in args.connections:
                results += await measure_checks(
                    setup, token, args.requests, connections, server.cpu_seconds
                )
    raw = raw_rs256(args.raw_rounds, len(token.split(".")[1]))
    text = report(results, raw, context)
    print(text)
    if args.output:
        document = {
            "context": context,
            "results": [
                asdict(result) | {"per_second": result.per_second} for result in results
            ],
            "raw_rs256": raw,
        }
        Path(args.output).write_text(json.dumps(document, indent=2, default=str))
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432",
        help="PostgreSQL server URL, without a database",
    )
    parser.add_argument("--database", default="scimbridge_bench_op")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/11",
        help="a Redis database for this run only: it is emptied first",
    )
    parser.add_argument("--exchanges", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=250)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument(
        "--connections",
        type=lambda value: [int(item) for item in value.split(",")],
        default=[1, 8],
    )
    parser.add_argument("--raw-rounds", type=int, default=2000)
    parser.add_argument("--output", help="write the results as JSON to this file")
    return parser.parse_args(argv)


def main() -> None:
    sys.exit(asyncio.run(main_async(parse_args(sys.argv[1:]))))


if __name__ == "__main__":
    main()
