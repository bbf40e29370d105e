"""Measure SAML and OIDC sign-in validation against the raw signature checks.

Run from the repository root::

    python -m bench.sso_validation
    python -m bench.sso_validation --profile

Everything runs in this process, and no server is started. It compares:

- ``validate_response`` on a SAML Response whose Assertion the test IdP of
  ``tests/sso/saml/idp.py`` signed with RSA-SHA256 and a 2048-bit key, with
  the raw check of the same bytes: lxml parse, ``xmlsec.tree.add_ids`` and
  one xmlsec verification with a key loaded once. The replay guard accepts
  every assertion ID, so the same Response can be validated again.
- ``IdTokenValidator.validate`` on an RS256 ID token of the test provider of
  ``tests/sso/oidc/provider.py``, with a raw check of the same token with
  cryptography: split, base64url-decode the signature, verify.
- Session lookup and revocation on a local Redis, with ``bench.session_lookup``.

The functions are timed in rounds, in an order that rotates each round, so
drift in machine load affects them alike. The rate of a validator is the
median over rounds of raw time per call divided by validator time per call,
so 100% means the validator costs nothing beyond the signature check. Every
loop stops after a fixed number of rounds or a time limit. ``--profile`` adds
a per-step table of the SAML validator and cProfile tables of both.
"""

import argparse
import asyncio
import base64
import cProfile
import os
import platform
import pstats
import statistics
import sys
import sysconfig
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import xmlsec
from cryptography import x509
from cryptography.hazmat.backends.openssl.backend import backend as openssl
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from bench import session_lookup
from bench.revision import describe_source

# The test IdP and provider live in tests/, which is not installed.
REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scimbridge.sso.oidc import (  # noqa: E402
    IdTokenValidator,
    JwksCache,
    OidcSettings,
    ProviderHttp,
    ProviderMetadata,
)
from scimbridge.sso.saml import names  # noqa: E402
from scimbridge.sso.saml.response import StepHook, validate_response  # noqa: E402
from tests.sso.oidc import provider as oidc_provider  # noqa: E402
from tests.sso.saml import idp as saml_idp  # noqa: E402

TARGET_RATIO = 0.70
LOOKUP_P99_TARGET_US = 2000.0
REVOKE_TARGET_MS = 50.0
OIDC_NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OIDC_NONCE = "nonce-0123456789abcdefghijklmnopqrstuvwxyzABCD"
MAX_ROUNDS = 1000
MAX_CALLS = 100_000
PROFILE_CALLS = 2000
PROFILE_ROWS = 15
_STDLIB = sysconfig.get_paths()["stdlib"] + "/"


@dataclass
class Timing:
    """Per-call cost of one function, one entry per round, in microseconds.

    ``is_validator`` marks the functions that the target applies to. The
    others are raw checks, shown for reference.
    """

    name: str
    is_validator: bool
    wall_us: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)


@dataclass
class Comparison:
    """Validators timed against the raw signature check they are built on."""

    title: str
    raw: Timing
    others: list[Timing]
    stopped_by: str = "rounds"

    def ratios(self, timing: Timing, cpu: bool = False) -> list[float]:
        """Return raw time per call divided by ``timing``'s, one value per round."""
        raw = self.raw.cpu_us if cpu else self.raw.wall_us
        measured = timing.cpu_us if cpu else timing.wall_us
        return [r / v for r, v in zip(raw, measured, strict=True)]


Measured = tuple[str, Callable[[], object], bool]
"""A function to time: its name, the function, and whether it is a validator."""


def time_rounds(
    title: str, functions: list[Measured], rounds: int, calls: int, seconds: float
) -> Comparison:
    """Run each function ``calls`` times per round, rotating the order each round.

    The first function is the raw check. One untimed round warms caches first.
    """
    timings = [Timing(name, is_validator) for name, _, is_validator in functions]
    for _, function, _ in functions:
        for _ in range(calls):
            function()

    comparison = Comparison(title, timings[0], timings[1:])
    deadline = time.monotonic() + seconds
    for round_number in range(rounds):
        if time.monotonic() > deadline:
            comparison.stopped_by = "time"
            break
        shift = round_number % len(functions)
        order = list(range(len(functions)))[shift:] + list(range(shift))
        for index in order:
            function = functions[index][1]
            wall_started = time.perf_counter()
            cpu_started = time.process_time()
            for _ in range(calls):
                function()
            cpu = time.process_time() - cpu_started
            wall = time.perf_counter() - wall_started
            timings[index].wall_us.append(1e6 * wall / calls)
            timings[index].cpu_us.append(1e6 * cpu / calls)
    return comparison


# SAML


class AcceptingReplayGuard:
    """A replay guard that accepts every assertion ID, so one Response can repeat."""

    def remember(self, key: str, expires_at: datetime) -> bool:
        return True


@dataclass(frozen=True)
class SamlCase:
    xml: bytes
    validate_xml: Callable[[], object]
    validate_base64: Callable[[], object]
    validate_with_hook: Callable[[StepHook], object]
    raw_verify: Callable[[], object]


def saml_case() -> SamlCase:
    """Sign one Response with the test IdP and build the functions to time."""
    response = saml_idp.signed_response(sign_assertion=True, sign_response=False)
    xml = saml_idp.to_bytes(response)
    posted = base64.b64encode(xml)
    idp_config = saml_idp.idp_config()
    sp_config = saml_idp.sp_config()
    guard = AcceptingReplayGuard()

    def validate(message: bytes, on_step: StepHook | None = None) -> object:
        return validate_response(
            message,
            idp=idp_config,
            sp=sp_config,
            now=saml_idp.NOW,
            expected_request_id=saml_idp.REQUEST_ID,
            allow_idp_initiated=False,
            replay=guard,
            on_step=on_step,
        )

    login = validate(xml)
    if getattr(login, "name_id", None) != saml_idp.USER:
        raise RuntimeError(f"the test Response did not validate: {login!r}")
    return SamlCase(
        xml=xml,
        validate_xml=lambda: validate(xml),
        validate_base64=lambda: validate(posted),
        validate_with_hook=lambda on_step: validate(xml, on_step),
        raw_verify=raw_saml_verifier(xml),
    )


def raw_saml_verifier(xml: bytes) -> Callable[[], object]:
    """Return a function that parses ``xml`` and verifies its Assertion signature.

    The key is the bare public key of the IdP certificate, loaded once, as
    scimbridge also loads it. Each call makes a new SignatureContext, since a
    context contains the state of one verification.
    """
    certificate = x509.load_pem_x509_certificate(saml_idp.idp_key().cert_pem.encode())
    public_pem = certificate.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = xmlsec.Key.from_memory(public_pem, xmlsec.constants.KeyDataFormatPem)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)

    def verify() -> None:
        root = etree.fromstring(xml, parser)
        xmlsec.tree.add_ids(root, ["ID"])
        assertion = root.find(names.ASSERTION)
        if assertion is None:
            raise RuntimeError("the test Response has no Assertion")
        signature = assertion.find(names.SIGNATURE)
        if signature is None:
            raise RuntimeError("the test Assertion has no Signature")
        context = xmlsec.SignatureContext()
        context.key = key
        context.verify(signature)

    verify()
    return verify


# OIDC


@dataclass(frozen=True)
class OidcCase:
    token: str
    validate: Callable[[], object]
    raw_verify: Callable[[], object]
    raw_verify_decoded: Callable[[], object]


async def _loopback_resolver(host: str, port: int) -> list[str]:
    # The provider runs on an httpx MockTransport, so nothing is resolved or sent.
    return ["127.0.0.1"]


def run_without_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends and return its result.

    ``validate`` suspends only to fetch a JWKS, and the key is cached before
    timing starts, so the event loop would only add scheduling cost.
    """
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError(
        "the coroutine suspended, so the JWKS key was not cached before timing"
    )


def oidc_case() -> OidcCase:
    """Sign one ID token with the test provider and build the functions to time."""
    keys = oidc_provider.ProviderKeys.generate()
    provider = oidc_provider.TestProvider(keys=keys, now=OIDC_NOW.timestamp)
    http = ProviderHttp(
        provider.client(), OidcSettings(allow_loopback_http=True), _loopback_resolver
    )
    jwks = JwksCache(http, clock=lambda: OIDC_NOW)
    issuer = oidc_provider.ISSUER
    provider_metadata = ProviderMetadata(
        issuer=issuer,
        authorization_endpoint=f"{issuer}/authorize",
        token_endpoint=f"{issuer}/token",
        jwks_uri=f"{issuer}/jwks",
        userinfo_endpoint=f"{issuer}/userinfo",
        id_token_algorithms=frozenset({"RS256", "ES256", "EdDSA"}),
        token_endpoint_auth_methods=frozenset({"client_secret_basic"}),
        iss_parameter_supported=False,
    )
    validator = IdTokenValidator(
        metadata=provider_metadata,
        client_id=oidc_provider.CLIENT_ID,
        jwks=jwks,
        clock=lambda: OIDC_NOW,
    )
    token = provider.make_id_token(OIDC_NONCE)

    claims = asyncio.run(validator.validate(token, nonce=OIDC_NONCE))
    if claims.get("sub") != oidc_provider.SUBJECT:
        raise RuntimeError(f"the test ID token did not validate: {claims!r}")

    def validate() -> object:
        return run_without_loop(validator.validate(token, nonce=OIDC_NONCE))

    validate()
    raw_verify, raw_verify_decoded = raw_rs256_verifiers(token, keys)
    return OidcCase(token, validate, raw_verify, raw_verify_decoded)


def raw_rs256_verifiers(
    token: str, keys: oidc_provider.ProviderKeys
) -> tuple[Callable[[], object], Callable[[], object]]:
    """Return a per-token RS256 check, and one with the inputs already decoded."""
    public_key = serialization.load_pem_public_key(
        keys.rsa.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise RuntimeError("the provider's RS256 key is not an RSA key")

    def verify() -> None:
        header, payload, signature = token.split(".")
        public_key.verify(
            oidc_provider.b64url_decode(signature),
            f"{header}.{payload}".encode("ascii"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )

    signing_input, _, encoded_signature = token.rpartition(".")
    signing_bytes = signing_input.encode("ascii")
    signature_bytes = oidc_provider.b64url_decode(encoded_signature)

    def verify_decoded() -> None:
        public_key.verify(
            signature_bytes, signing_bytes, padding.PKCS1v15(), hashes.SHA256()
        )

    verify()
    return verify, verify_decoded


# Profiles


def profile(function: Callable[[], object], calls: int) -> list[dict[str, Any]]:
    """Run ``function`` under cProfile and return the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        function()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (path, line, name), values in stats.stats.items():  # type: ignore[attr-defined]
        _, call_count, own_time, cumulative_time, _ = values
        rows.append(
            {
                "function": f"{name} ({_short_path(path)}:{line})",
                "calls_per_validation": call_count / calls,
                "own_us": 1e6 * own_time / calls,
                "cumulative_us": 1e6 * cumulative_time / calls,
            }
        )
    rows.sort(key=lambda row: row["own_us"], reverse=True)
    return rows[:PROFILE_ROWS]


def saml_step_costs(case: SamlCase, calls: int) -> list[tuple[str, float]]:
    """Time each named step of validate_response from its step hook, in µs.

    A step's time runs from the end of the step before, so the lookups that
    validate_response makes between steps count toward the next step.
    Returns the median over ``calls`` validations of each step, in order.
    """
    samples: dict[str, list[float]] = {}
    last = 0

    def on_step(name: str, passed: bool, error: object) -> None:
        nonlocal last
        now = time.perf_counter_ns()
        samples.setdefault(name, []).append((now - last) / 1000)
        last = now

    for _ in range(calls):
        last = time.perf_counter_ns()
        case.validate_with_hook(on_step)
        on_step("(after the last step: build SamlLogin, return)", True, None)
    return [(name, statistics.median(values)) for name, values in samples.items()]


def print_step_costs(steps: list[tuple[str, float]], calls: int) -> None:
    total = sum(cost for _, cost in steps)
    print(
        f"\nvalidate_response by step, median of {calls} calls, wall time "
        "between step hooks:\n"
    )
    print("| step | median (µs) | share |")
    print("| --- | ---: | ---: |")
    for name, cost in sorted(steps, key=lambda step: step[1], reverse=True):
        print(f"| {name} | {cost:.1f} | {cost / total:.0%} |")
    print(f"| sum of medians | {total:.1f} | 100% |")


def _short_path(path: str) -> str:
    for marker in ("site-packages/", "/src/"):
        if marker in path:
            return path.split(marker, 1)[1]
    if path.startswith(_STDLIB):
        return path[len(_STDLIB) :]
    return path


def print_profile(title: str, rows: list[dict[str, Any]], calls: int) -> None:
    print(
        f"\ncProfile of {title}, {calls} calls, top {PROFILE_ROWS} by own time. "
        "Times are per validation. cProfile adds a cost to every call it records, "
        "so these times are inflated and only their order matters:\n"
    )
    print("| function | calls per validation | own (µs) | cumulative (µs) |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| `{row['function']}` | {row['calls_per_validation']:g} | "
            f"{row['own_us']:.1f} | {row['cumulative_us']:.1f} |"
        )


# Report


def versions() -> str:
    packages = ("lxml", "xmlsec", "cryptography", "joserfc", "redis")
    installed = []
    for package in packages:
        try:
            installed.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            installed.append(f"{package} not installed")
    # python-xmlsec 1.3.17 has get_libxmlsec_version, but its type stubs lack it.
    libxmlsec_version = getattr(xmlsec, "get_libxmlsec_version", lambda: ("?",))
    libxmlsec = ".".join(str(part) for part in libxmlsec_version())
    return (
        ", ".join(installed)
        + f", libxmlsec1 {libxmlsec}, {openssl.openssl_version_text()}"
    )


def print_comparison(comparison: Comparison) -> bool:
    """Print one comparison table and return whether every validator met the target."""
    rounds = len(comparison.raw.wall_us)
    print(
        f"\n{comparison.title}: {rounds} rounds, stopped by {comparison.stopped_by}.\n"
    )
    print(
        "| function | per call, wall (µs) | calls/s, wall | per call, CPU (µs) | "
        "validator/raw rate, wall | validator/raw rate, CPU | "
        "CPU rate, 1st-3rd quartile of rounds |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    met = True
    for timing in [comparison.raw, *comparison.others]:
        wall = statistics.median(timing.wall_us)
        cpu = statistics.median(timing.cpu_us)
        if timing is comparison.raw:
            ratio_wall = ratio_cpu = "(baseline)"
            spread = ""
        else:
            wall_ratio = statistics.median(comparison.ratios(timing))
            cpu_ratios = comparison.ratios(timing, cpu=True)
            cpu_ratio = statistics.median(cpu_ratios)
            ratio_wall, ratio_cpu = f"{wall_ratio:.0%}", f"{cpu_ratio:.0%}"
            spread = _quartiles(cpu_ratios)
            if timing.is_validator:
                met = met and min(wall_ratio, cpu_ratio) >= TARGET_RATIO
        print(
            f"| {timing.name} | {wall:.1f} | {1e6 / wall:,.0f} | {cpu:.1f} | "
            f"{ratio_wall} | {ratio_cpu} | {spread} |"
        )
    return met


def _quartiles(values: list[float]) -> str:
    if len(values) < 2:
        return "n/a"
    first, _, third = statistics.quantiles(values, n=4)
    return f"{first:.0%}–{third:.0%}"


async def session_results(
    url: str, requests: int, rounds: int
) -> tuple[list[tuple[str, list[float]]], int, list[float], str]:
    prefix = f"sbbench:{os.urandom(6).hex()}:"
    try:
        lookups, value_size = await session_lookup.bench_lookups(url, prefix, requests)
        revoke_ms = await session_lookup.bench_revoke(url, prefix, rounds)
        version = await session_lookup.server_version(url)
    finally:
        await session_lookup.delete_prefix(url, prefix)
    return lookups, value_size, revoke_ms, version


def check_session_targets(
    lookups: list[tuple[str, list[float]]], revoke_ms: list[float]
) -> list[str]:
    verdicts = []
    for name, latencies in lookups:
        if name == "RedisSessionStore.get":
            p99 = session_lookup.percentile(latencies, 0.99)
            met = p99 < LOOKUP_P99_TARGET_US
            verdicts.append(
                f"RedisSessionStore.get p99 {p99:.0f} µs, target under "
                f"{LOOKUP_P99_TARGET_US:.0f} µs: {'met' if met else 'not met'}"
            )
    worst = max(revoke_ms)
    met = worst < REVOKE_TARGET_MS
    verdicts.append(
        f"revoke_member of {session_lookup.REVOKED_SESSIONS} sessions, slowest of "
        f"{len(revoke_ms)} rounds {worst:.1f} ms, target under "
        f"{REVOKE_TARGET_MS:.0f} ms: {'met' if met else 'not met'}"
    )
    return verdicts


def bounded_int(minimum: int, maximum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be between {minimum} and {maximum}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sso_validation",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument(
        "--rounds",
        type=bounded_int(1, MAX_ROUNDS),
        default=30,
        help=f"timed rounds per comparison, at most {MAX_ROUNDS}",
    )
    parser.add_argument(
        "--calls",
        type=bounded_int(1, MAX_CALLS),
        default=300,
        help="calls of each function per round",
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=120.0,
        help="time limit of each comparison, in seconds",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also profile {PROFILE_CALLS} calls of each validator with cProfile",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/15",
        help="Redis on this machine for the session part; keys are deleted after",
    )
    parser.add_argument(
        "--session-requests",
        type=bounded_int(1, session_lookup.MAX_REQUESTS),
        default=20_000,
        help="timed session lookups per operation",
    )
    parser.add_argument(
        "--revoke-rounds",
        type=bounded_int(1, session_lookup.MAX_ROUNDS),
        default=10,
        help="revocations of 1,000 sessions",
    )
    parser.add_argument(
        "--skip-sessions",
        action="store_true",
        help="leave out the Redis session part",
    )
    return parser


def main() -> None:
    parser = build_parser()
    args = parser.parse_args()
    redis_url = None
    if not args.skip_sessions:
        try:
            redis_url = session_lookup.loopback_url(args.redis_url)
        except ValueError as exc:
            parser.error(str(exc))

    load1, load5, load15 = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs ({session_lookup.cpu_model()}), load average "
        f"{load1:.2f} {load5:.2f} {load15:.2f} at start, shared with other test "
        f"runs; Python {platform.python_version()}; {versions()}; "
        f"{describe_source()}."
    )

    saml = saml_case()
    oidc = oidc_case()
    print(f"SAML Response: {len(saml.xml)} bytes; ID token: {len(oidc.token)} bytes.")
    saml_met = print_comparison(
        time_rounds(
            "SAML Response, signed Assertion, RSA-SHA256, 2048-bit key",
            [
                ("raw: lxml parse + add_ids + xmlsec verify", saml.raw_verify, False),
                ("validate_response, XML", saml.validate_xml, True),
                ("validate_response, base64 as posted", saml.validate_base64, True),
            ],
            args.rounds,
            args.calls,
            args.seconds,
        )
    )
    oidc_met = print_comparison(
        time_rounds(
            "OIDC ID token, RS256, 2048-bit key",
            [
                ("raw: split + b64url decode + RSA verify", oidc.raw_verify, False),
                ("IdTokenValidator.validate", oidc.validate, True),
                (
                    "raw, for reference: RSA verify of pre-decoded input",
                    oidc.raw_verify_decoded,
                    False,
                ),
            ],
            args.rounds,
            args.calls,
            args.seconds,
        )
    )
    print(
        f"\nSAML target (validator at least {TARGET_RATIO:.0%} of the raw rate, "
        f"wall and CPU): {'met' if saml_met else 'not met'}. OIDC target: "
        f"{'met' if oidc_met else 'not met'}."
    )

    if args.profile:
        print_step_costs(saml_step_costs(saml, PROFILE_CALLS), PROFILE_CALLS)
        print_profile(
            "validate_response",
            profile(saml.validate_xml, PROFILE_CALLS),
            PROFILE_CALLS,
        )
        print_profile(
            "IdTokenValidator.validate",
            profile(oidc.validate, PROFILE_CALLS),
            PROFILE_CALLS,
        )

    if redis_url is not None:
        print()
        lookups, value_size, revoke_ms, version = asyncio.run(
            session_results(redis_url, args.session_requests, args.revoke_rounds)
        )
        session_lookup.print_report(lookups, value_size, revoke_ms, version)
        print()
        for verdict in check_session_targets(lookups, revoke_ms):
            print(f"- {verdict}")

    load1, load5, load15 = os.getloadavg()
    print(f"\nload average at the end: {load1:.2f} {load5:.2f} {load15:.2f}")


if __name__ == "__main__":
    main()
