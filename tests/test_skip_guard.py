"""No silent skips (tests/skip_guard.py): a run with a skip whose reason is not allowed
fails, and lists it; an allowed skip is reported and the run passes."""

import subprocess
import sys
import textwrap

import pytest
from conftest import PROJECT_ROOT
from skip_guard import ALLOWED_SKIPS

TESTS = """
import pytest

def test_runs():
    pass

def test_skips_for_an_unknown_reason():
    pytest.skip("{unexpected}")

def test_skips_for_an_allowed_reason():
    pytest.skip("fine here")

@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_failure():
    assert False
"""


def run_pytest(folder, unexpected: bool):
    (folder / "conftest.py").write_text(
        textwrap.dedent("""
        import skip_guard

        def pytest_configure(config):
            skip_guard.install(config, {"fine here": "an allowed reason"})
    """)
    )
    (folder / "test_sample.py").write_text(
        TESTS.replace(
            'pytest.skip("{unexpected}")', 'pytest.skip("no database here")' if unexpected else "pass"
        )
    )
    (folder / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider -rfEs\n")
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(folder)],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(PROJECT_ROOT / "tests"), "PATH": "/usr/bin:/bin"},
    )


def test_a_skip_for_a_reason_not_allowed_fails_the_run_and_is_named(tmp_path):
    result = run_pytest(tmp_path, unexpected=True)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.stdout
    assert "unexpected skips" in result.stdout
    assert "test_sample.py::test_skips_for_an_unknown_reason: no database here" in result.stdout
    assert "SKIPPED [1] test_sample.py" in result.stdout  # -rs: skips are listed with their reason
    assert "test_skips_for_an_allowed_reason" not in result.stdout.split("unexpected skips")[1]


def test_allowed_skips_and_expected_failures_leave_the_run_green(tmp_path):
    result = run_pytest(tmp_path, unexpected=False)
    assert result.returncode == pytest.ExitCode.OK, result.stdout
    assert "unexpected skips" not in result.stdout
    assert "fine here" in result.stdout  # still reported
    assert "1 xfailed" in result.stdout


def test_this_suite_runs_with_the_guard_and_reports_skips(request):
    assert request.config.pluginmanager.get_plugin("skip_guard") is not None
    assert "s" in request.config.option.reportchars
    assert len(ALLOWED_SKIPS) <= 3 and all(why for why in ALLOWED_SKIPS.values())
