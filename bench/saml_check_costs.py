"""Measure what each group of SAML checks costs, by timing the validator without it.

Run from the repository root::

    python -m bench.saml_check_costs

``bench.sso_validation`` compares ``validate_response`` with a raw xmlsec
verification of the same Response. This script measures how much of the gap
each group of checks takes. For each group it starts a fresh Python process and
replaces the group's functions with stand-ins, which return what the real
functions return for the benchmark Response. That process then times the
validator against the raw verification, in the rotating rounds of
``bench.sso_validation``. The rate gained over the full validator is the
group's share. It includes the cache misses that the group's lxml and Python
calls cause in the parse and the verification after them.

The stand-ins check nothing and exist only in the child processes. The
validator they leave behind must never validate a real message.
"""

import argparse
import json
import statistics
import subprocess
import sys
from collections.abc import Callable

from bench import sso_validation
from bench.revision import describe_source
from scimbridge.sso.saml import names
from scimbridge.sso.saml import response as response_module
from scimbridge.sso.saml import signature as signature_module
from scimbridge.sso.saml import xml as xml_module
from scimbridge.sso.saml.xml import Children

ROUNDS = 30
CALLS = 300
SECONDS = 120.0


def _leave_out_parse_checks() -> None:
    xml_module._check_parsed = lambda root, limits: None


def _leave_out_response_checks() -> None:
    for name in (
        "check_response_element",
        "check_status",
        "check_response_issuer",
        "check_destination",
    ):
        setattr(response_module, name, lambda *args: None)


def _leave_out_document_structure() -> None:
    def structure(response: Children) -> tuple[None, Children]:
        return None, Children(response.require(names.ASSERTION))

    response_module.check_document_structure = structure


def _leave_out_id_scan(id_attributes: list[tuple[str, str]]) -> None:
    response_module.find_id_attributes = lambda root: id_attributes


def _leave_out_algorithm_checks(
    algorithms: tuple[str, str], transforms: list[str]
) -> None:
    signature_module._check_algorithms = lambda *args: algorithms
    signature_module._check_transforms = lambda *args: transforms


def _leave_out_assertion_checks(login: object) -> None:
    response_module._read_login = lambda *args, **kwargs: login


GROUPS = (
    "parse checks (DTD, NUL, processing instructions, depth)",
    "Response element, Status, Issuer and Destination",
    "document structure (assertion and signature part counts)",
    "ID attribute scan",
    "signature algorithm and transform checks",
    "Assertion checks and claims (Conditions to replay)",
)


def leave_out(groups: list[str], case: sso_validation.SamlCase) -> None:
    """Replace the functions of ``groups`` with stand-ins for the benchmark Response."""
    root = xml_module.parse_xml(case.xml)
    id_attributes = signature_module.find_id_attributes(root)
    login = case.validate_xml()
    assertion = root.find(names.ASSERTION)
    signature = assertion.find(names.SIGNATURE) if assertion is not None else None
    if signature is None:
        raise RuntimeError("the benchmark Response has no signed Assertion")
    info, reference = signature_module._check_structure(signature, "Assertion")
    algorithms = signature_module._check_algorithms(info, reference, False)
    transforms = signature_module._check_transforms(reference[0])

    stand_ins: dict[str, Callable[[], None]] = {
        GROUPS[0]: _leave_out_parse_checks,
        GROUPS[1]: _leave_out_response_checks,
        GROUPS[2]: _leave_out_document_structure,
        GROUPS[3]: lambda: _leave_out_id_scan(id_attributes),
        GROUPS[4]: lambda: _leave_out_algorithm_checks(algorithms, transforms),
        GROUPS[5]: lambda: _leave_out_assertion_checks(login),
    }
    for group in groups:
        stand_ins[group]()


def measure(groups: list[str], rounds: int) -> dict[str, float]:
    """Time the validator without ``groups`` against the raw verification."""
    case = sso_validation.saml_case()
    leave_out(groups, case)
    login = case.validate_xml()
    if getattr(login, "name_id", None) is None:
        raise RuntimeError("the validator without the groups returned no login")
    comparison = sso_validation.time_rounds(
        "SAML",
        [
            ("raw", case.raw_verify, False),
            ("validator", case.validate_xml, True),
        ],
        rounds,
        CALLS,
        SECONDS,
    )
    validator = comparison.others[0]
    return {
        "raw_us": statistics.median(comparison.raw.cpu_us),
        "validator_us": statistics.median(validator.cpu_us),
        "rate": statistics.median(comparison.ratios(validator, cpu=True)),
    }


def run_child(groups: list[str], rounds: int) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.saml_check_costs", "--child"]
    command += ["--rounds", str(rounds), *(f"--without={group}" for group in groups)]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(output.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--without", action="append", default=[], choices=GROUPS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.without, args.rounds)))
        return

    print(describe_source())
    print(f"{args.rounds} rounds of {CALLS} calls each, CPU time, medians.\n")
    variants: list[tuple[str, list[str]]] = [("none (the full validator)", [])]
    variants += [(group, [group]) for group in GROUPS]
    variants.append(("all of the groups above", list(GROUPS)))
    full: dict[str, float] | None = None
    print(
        "| left out | raw (µs) | validator (µs) | rate | "
        "rate gained | µs saved per call |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, groups in variants:
        result = run_child(groups, args.rounds)
        if full is None:
            full = result
        gained = result["rate"] - full["rate"]
        saved = result["raw_us"] / full["rate"] - result["raw_us"] / result["rate"]
        print(
            f"| {label} | {result['raw_us']:.1f} | {result['validator_us']:.1f} | "
            f"{result['rate']:.1%} | {gained:+.1%} | {saved:.1f} |"
        )


if __name__ == "__main__":
    main()
