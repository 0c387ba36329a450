"""No silent skips: a test run fails when a test skipped for a reason not allowed below.

A skipped test promises nothing, and in CI nobody reads the skips; so every skip
fails the run (exit status 1, with the skipped tests listed under "unexpected
skips") unless its reason is one of ALLOWED_SKIPS, each with why that skip is
legitimate. conftest.py switches this on for every run of the suite.
"""

from typing import Dict, List, Text, Tuple

import pytest

# Reason (exactly as the test gives it to pytest.skip) -> why skipping is right there.
# Keep this list short: a skip that is not here fails the run.
ALLOWED_SKIPS: Dict[Text, Text] = {
    # tests/test_clinic_profile.py: once a clinic has put its own details in clinic.yml,
    # "the shipped example is fictional" has nothing left to check; the profile's
    # validity is still checked by the other profile tests.
    "clinic.yml is a clinic's own profile now, not the shipped example": (
        "a clinic's own profile is not the fictional example"
    ),
    # tests/test_content.py: the committed article hashes are compared with the article
    # only where the article is (beside the clone, in ../shared); the copy check itself
    # runs everywhere, against the committed hashes.
    "the article is not beside the project: the committed hashes cannot be compared with it": (
        "the article itself is not part of the project"
    ),
}


def skip_reason(report) -> Text:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason[len("Skipped: ") :] if reason.startswith("Skipped: ") else reason


class SkipGuard:
    def __init__(self, allowed: Dict[Text, Text]) -> None:
        self.allowed = allowed
        self.unexpected: List[Tuple[Text, Text]] = []

    def _check(self, report) -> None:
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = skip_reason(report)
            if reason not in self.allowed:
                self.unexpected.append((report.nodeid, reason))

    def pytest_runtest_logreport(self, report) -> None:
        self._check(report)

    def pytest_collectreport(self, report) -> None:
        self._check(report)

    def pytest_sessionfinish(self, session) -> None:
        if self.unexpected and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.unexpected:
            return
        terminalreporter.section("unexpected skips", red=True)
        for nodeid, reason in self.unexpected:
            terminalreporter.write_line(f"{nodeid}: {reason}")
        terminalreporter.write_line(
            f"{len(self.unexpected)} test(s) skipped for a reason not in ALLOWED_SKIPS "
            "(tests/skip_guard.py): "
            "the run fails. Make the test run, or allow the reason there with why."
        )


def install(config, allowed: Dict[Text, Text] = ALLOWED_SKIPS) -> None:
    config.pluginmanager.register(SkipGuard(allowed), "skip_guard")
