"""Running schemathesis (4.x engine) against a live server and collecting
what failed: shared by the FDM, FXOS and control API spec tests."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import schemathesis
from schemathesis.engine import Status, events, from_schema

# Every check `st run --checks all` runs (schemathesis 4.32); the stateful
# ones (use_after_free, ensure_resource_availability, object_level_authorization)
# act in the stateful phase only, which runs with SIM_SCHEMATHESIS_LONG=1.
ALL_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
              "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
              "positive_data_acceptance", "missing_required_header", "unsupported_method",
              "allow_header_conformance", "use_after_free", "ensure_resource_availability", "ignored_auth",
              "object_level_authorization")
LONG = os.environ.get("SIM_SCHEMATHESIS_LONG") == "1"     # more examples and the stateful phase


def schemathesis_config(base_url: str, *, seed: int, max_examples: int, checks: Iterable[str] = ALL_CHECKS,
                        tls_verify: bool = True, expected: Mapping[str, Sequence[str]] | None = None
                        ) -> schemathesis.Config:
    """`expected`: the statuses a check accepts where an API's conventions differ
    from schemathesis' defaults (FDM refuses a valid request in the wrong state
    with 422, FXOS with 400)."""
    settings = {name: {"enabled": True, **({"expected-statuses": list(expected[name])} if name in (expected or {})
                                           else {})} for name in checks}
    return schemathesis.Config.from_dict({
        "seed": seed,
        "suppress-health-check": ["all"],
        "base-url": base_url,
        "tls-verify": tls_verify,
        "workers": 1,
        "request-timeout": 10,
        "continue-on-failure": True,     # a failure does not hide the next one in the same operation
        "generation": {"max-examples": max_examples * (4 if LONG else 1), "deterministic": True,
                       "database": "none", "with-security-parameters": False},
        "checks": {"enabled": False, **settings},
        "phases": {"stateful": {"enabled": LONG}},
    })


@dataclass
class Finding:
    operation: str
    check: str
    status: int | None
    title: str
    message: str
    curl: str

    def __str__(self) -> str:
        message = "\n    ".join(self.message.strip().splitlines()[:12])
        return f"{self.operation} [{self.check}] {self.title} (HTTP {self.status})\n    {message}\n    {self.curl}"


def run_schemathesis(schema) -> tuple[list[Finding], list[str], dict[str, int]]:
    """Every failed check (one per operation, check and title), errors, and
    how many cases each phase sent."""
    findings: dict[tuple[str, str, str, int | None], Finding] = {}
    errors: list[str] = []
    cases: dict[str, int] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases[str(event.phase)] = cases.get(str(event.phase), 0) + len(recorder.cases)
            for case_id, checks in recorder.checks.items():
                for check in checks:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    response = recorder.find_response(case_id=case_id)
                    status = response.status_code if response is not None else None
                    key = (recorder.label, check.name, failure.title, status)
                    findings.setdefault(key, Finding(recorder.label, check.name, status, failure.title,
                                                     failure.message, check.failure_info.code_sample))
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.EngineFinished):
            if event.stop_reason != "completed":
                errors.append(f"run stopped: {event.stop_reason}")
    return list(findings.values()), errors, cases


