"""Run the contract with Django's test runner in a subprocess; classify what it reports.

Parent side: ``run_contract(store, use_tz)`` starts this module as a subprocess and
returns a ``Report``. Child side (also the command line)::

    python -m tests.django_contract.runner --store jwt --use-tz 1 [--suite sessions]

runs the suite's labels with a ``DiscoverRunner`` under ``tests/django_contract/settings.py``
and writes each test's outcome as JSON (``--report``), or prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import ENGINES
from .expectations import JWT_SKIPS, KNOWN_FAILURES, KnownFailure
from .upstream import ROOT, suites_dir

CONTRACT = "tests.django_contract.contract"
SUITES: dict[str, list[str]] = {
    # What CI runs: the session contract, and the two auth tests that exercise the engine.
    "contract": [
        f"{CONTRACT}.{{Store}}SessionTests",
        f"{CONTRACT}.{{Store}}SessionMiddlewareTests",
        f"{CONTRACT}_auth.{{Store}}AuthContextProcessorTests",
        f"{CONTRACT}_auth.{{Store}}GetUserTests",
    ],
    "auth-all": ["auth_tests"],  # informational: the whole upstream auth suite, not in CI
}
FAILED = ("failure", "error", "unexpected_success")
TIMEOUT = 900


def labels(suite: str, store: str) -> list[str]:
    return [label.format(Store=store.capitalize()) for label in SUITES[suite]]


def expected_skips(store: str) -> dict[str, str]:
    """The skips the contract run must show: ``JWT_SKIPS`` on the jwt store's mixin class."""
    if store != "jwt":
        return {}
    return {f"JwtSessionTests.{name}": reason for name, reason in JWT_SKIPS.items()}


@dataclass
class Outcome:
    test: str
    status: str  # success, failure, error, skip, expected_failure, unexpected_success
    detail: str = ""


@dataclass
class Report:
    store: str
    use_tz: bool
    suite: str
    vendor: str  # the database's connection.vendor
    cache: str  # the cache backend
    django: tuple[int, int]  # Django's version (major, minor)
    outcomes: dict[str, Outcome]
    seconds: float
    output: str = field(default="", repr=False)

    @property
    def label(self) -> str:
        version = ".".join(map(str, self.django))
        return f"{self.store} store, USE_TZ={self.use_tz}, {self.vendor}, Django {version}"

    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.status in FAILED]

    def known_failures(self) -> list[KnownFailure]:
        """The ``KNOWN_FAILURES`` entries that apply to this run."""
        classes = {label.rsplit(".", 1)[-1] for label in labels(self.suite, self.store)}
        return [
            known
            for known in KNOWN_FAILURES
            if known.applies(self.store, self.use_tz, self.vendor, self.django)
            and known.test.split(".")[0] in classes
        ]

    def cause(self, outcome: Outcome) -> str | None:
        """Why ``outcome`` failed, when it is a known failure failing as noted."""
        for known in self.known_failures():
            if known.test == outcome.test and known.match in outcome.detail:
                return known.cause
        return None

    def unexpected(self) -> list[Outcome]:
        """Failures that are not known ones (or fail otherwise): the contract is broken."""
        return [o for o in self.failed() if self.cause(o) is None]

    def fixed(self) -> list[KnownFailure]:
        """Known failures whose test no longer fails (or no longer exists): delete them."""
        return [
            known
            for known in self.known_failures()
            if (outcome := self.outcomes.get(known.test)) is None or outcome.status not in FAILED
        ]

    def skipped(self) -> dict[str, str]:
        return {o.test: o.detail for o in self.outcomes.values() if o.status == "skip"}

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for outcome in self.outcomes.values():
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        known = len(self.failed()) - len(self.unexpected())
        return (
            f"{self.label}: {len(self.outcomes)} tests in {self.seconds:.1f} s, "
            + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
            + f" ({known} of the failures known)"
        )


# -- parent side ----------------------------------------------------------------------------


def run_contract(store: str, use_tz: bool, suite: str = "contract") -> Report:
    """Run ``suite`` against ``store`` in a subprocess (the upstream tests must be
    available: ``upstream.suites_dir()`` first) and return what happened."""
    with tempfile.TemporaryDirectory(prefix="jwtsession-contract-") as scratch:
        report_path = Path(scratch) / "report.json"
        command = [
            sys.executable,
            "-m",
            "tests.django_contract.runner",
            f"--store={store}",
            f"--use-tz={int(use_tz)}",
            f"--suite={suite}",
            f"--report={report_path}",
        ]
        path = os.pathsep.join([str(ROOT), str(ROOT / "sandbox_project")])
        env = {**os.environ, "PYTHONPATH": path}
        started = time.monotonic()
        result = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        seconds = time.monotonic() - started
        output = result.stdout + result.stderr
        if not report_path.is_file():
            raise RuntimeError(
                f"the contract run ({store}, USE_TZ={use_tz}) exited {result.returncode} "
                f"without a report:\n{output[-6000:]}"
            )
        raw = json.loads(report_path.read_text(encoding="utf-8"))
    outcomes = {item["test"]: Outcome(**item) for item in raw["outcomes"]}
    version = (raw["django"][0], raw["django"][1])
    return Report(
        store, use_tz, suite, raw["vendor"], raw["cache"], version, outcomes, seconds, output
    )


# -- child side ---------------------------------------------------------------------------


def _test_name(test_id: str) -> str:
    """``JwtSessionTests.test_cycle`` for our classes; upstream ids as they are."""
    if test_id.startswith("tests.django_contract."):
        return ".".join(test_id.split(".")[-2:])
    return test_id


class RecordingResult(unittest.TextTestResult):
    """Keeps each test's outcome (a subtest failure counts for its test)."""

    outcomes: dict[str, Outcome] = {}

    def _put(self, test: Any, status: str, detail: str = "") -> None:
        name = _test_name(test.id())
        previous = self.outcomes.get(name)
        if previous is not None and previous.status in FAILED:
            return  # a failed subtest already marked it
        self.outcomes[name] = Outcome(name, status, detail[-50_000:])

    def _trace(self, test: Any, err: Any) -> str:
        """The traceback, plus every exception it was raised while handling (also a
        suppressed one: Django raises TransactionManagementError without its cause)."""
        text = self._exc_info_to_string(err, test)
        context, seen = err[1].__context__, {id(err[1])}
        while context is not None and id(context) not in seen:
            seen.add(id(context))
            text += f"\nRaised while handling: {type(context).__name__}: {context}"
            context = context.__context__
        return text

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self._put(test, "success")

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._put(test, "failure", self._trace(test, err))

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._put(test, "error", self._trace(test, err))

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._put(test, "skip", reason)

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._put(test, "expected_failure", self._trace(test, err))

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._put(test, "unexpected_success")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self._put(test, "failure" if failed else "error", self._trace(subtest, err))


def _child(args: argparse.Namespace) -> Report:
    upstream = suites_dir()
    sys.path.insert(0, str(upstream))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.django_contract.settings",
        JWTSESSION_CONTRACT_STORE=args.store,
        JWTSESSION_CONTRACT_USE_TZ=str(args.use_tz),
        JWTSESSION_CONTRACT_UPSTREAM=str(upstream),
        JWTSESSION_CONTRACT_BASELINE="1" if args.baseline else "0",
    )
    # As runtests.py: deprecations, resource and runtime warnings are errors.
    from django.utils.deprecation import RemovedAfterNextVersionWarning, RemovedInNextVersionWarning

    for category in (
        RemovedInNextVersionWarning,
        RemovedAfterNextVersionWarning,
        ResourceWarning,
        RuntimeWarning,
    ):
        warnings.simplefilter("error", category)

    import django
    from django.test.runner import DiscoverRunner

    django.setup()
    if args.suite == "auth-all" and not args.baseline:
        from .contract_auth import use_our_middleware

        use_our_middleware()

    class Runner(DiscoverRunner):
        def get_resultclass(self) -> type[unittest.TextTestResult]:
            return RecordingResult

    from django.conf import settings
    from django.db import connection

    from . import settings as contract_settings

    started = time.monotonic()
    try:
        Runner(verbosity=args.verbosity, interactive=False).run_tests(
            labels(args.suite, args.store)
        )
    finally:
        shutil.rmtree(contract_settings.CONTRACT_SCRATCH_DIR, ignore_errors=True)
    return Report(
        args.store,
        bool(args.use_tz),
        args.suite,
        connection.vendor,
        settings.CACHES["default"]["BACKEND"],
        django.VERSION[:2],
        dict(RecordingResult.outcomes),
        time.monotonic() - started,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=sorted(ENGINES), required=True)
    parser.add_argument("--use-tz", type=int, choices=(0, 1), required=True)
    parser.add_argument("--suite", choices=sorted(SUITES), default="contract")
    parser.add_argument("--report", type=Path, help="write the outcomes here (JSON)")
    parser.add_argument("--verbosity", type=int, default=1)
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="Django's own db engine and middleware instead of ours (auth-all: which "
        "failures are the harness's)",
    )
    args = parser.parse_args(argv)
    report = _child(args)
    if args.report is not None:
        items = [vars(outcome) for outcome in report.outcomes.values()]
        raw = {
            "vendor": report.vendor,
            "cache": report.cache,
            "django": report.django,
            "outcomes": items,
        }
        args.report.write_text(json.dumps(raw, indent=1), encoding="utf-8")
        return 0
    for outcome in report.failed():
        cause = report.cause(outcome)
        print(
            f"{outcome.status.upper()}: {outcome.test}" + (f"  [known: {cause}]" if cause else "")
        )
    for known in report.fixed():
        print(f"NOW PASSES, so remove it from KNOWN_FAILURES: {known.test}")
    print(report.summary())
    return 1 if report.unexpected() or report.fixed() else 0


if __name__ == "__main__":
    sys.exit(main())
