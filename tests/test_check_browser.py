"""`make test` without Chromium stops in seconds, before training or the suite, with one
line that names the install command (scripts/check_browser.sh, run first by `make test`)."""

import os
import shutil
import signal
import subprocess
import time

import pytest
from conftest import PROJECT_ROOT

CHECK = PROJECT_ROOT / "scripts" / "check_browser.sh"
BROWSER_NAMES = {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"}
INSTALL = "install it with `sudo apt-get install -y chromium` (Debian) and run make test again"


@pytest.fixture(scope="module")
def path_without_chromium(tmp_path_factory):
    """A PATH with every command of this machine's PATH except Chromium."""
    folder = tmp_path_factory.mktemp("bin")
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for name in os.listdir(directory):
            target = os.path.join(directory, name)
            if (
                name not in BROWSER_NAMES
                and not (folder / name).exists()
                and os.access(target, os.X_OK)
                and os.path.isfile(target)
            ):
                (folder / name).symlink_to(target)
    assert shutil.which("chromium", path=str(folder)) is None
    assert shutil.which("make", path=str(folder)) is not None
    return str(folder)


def environment(**values):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("THRESHOLD_CHROMIUM", "MAKEFLAGS", "MAKELEVEL")
    }
    env.update(values)
    return env


def run(args, env, timeout=20.0):
    """Runs `args` in its own process group (killed, children too, if it overruns)."""
    started = time.monotonic()
    process = subprocess.Popen(
        args,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{args} still running after {timeout} s")
    return process.returncode, stdout, stderr, time.monotonic() - started


def test_the_check_fails_at_once_with_the_install_command_without_chromium(path_without_chromium):
    code, stdout, stderr, seconds = run(["/bin/bash", str(CHECK)], environment(PATH=path_without_chromium))
    assert code != 0
    assert stdout == ""
    assert stderr.splitlines() == [f"Chromium not found: {INSTALL}"]
    assert seconds < 3


def test_the_check_fails_on_a_bare_path_too():
    code, _, stderr, seconds = run(["/bin/bash", str(CHECK)], environment(PATH="/nonexistent"))
    assert code != 0 and stderr.splitlines() == [f"Chromium not found: {INSTALL}"] and seconds < 3


def test_a_threshold_chromium_that_is_not_there_fails_with_its_path(tmp_path):
    missing = tmp_path / "chromium"
    code, _, stderr, _ = run(["/bin/bash", str(CHECK)], environment(THRESHOLD_CHROMIUM=str(missing)))
    assert code != 0
    assert len(stderr.splitlines()) == 1
    assert f"THRESHOLD_CHROMIUM={missing}" in stderr and "sudo apt-get install -y chromium" in stderr


def test_a_threshold_chromium_outside_the_path_is_accepted(path_without_chromium):
    browser = shutil.which("chromium")
    assert browser, "this machine has Chromium (CI installs it)"
    code, _, stderr, _ = run(
        ["/bin/bash", str(CHECK)], environment(PATH=path_without_chromium, THRESHOLD_CHROMIUM=browser)
    )
    assert (code, stderr) == (0, "")


def test_the_check_passes_on_this_machine():
    code, stdout, stderr, _ = run(["/bin/bash", str(CHECK)], environment())
    assert (code, stdout, stderr) == (0, "", "")


def test_make_test_without_chromium_stops_in_seconds_before_training(path_without_chromium):
    code, stdout, stderr, seconds = run(
        ["make", "--no-print-directory", "test"], environment(PATH=path_without_chromium)
    )
    assert code != 0
    assert seconds < 10
    assert stdout == ""  # nothing else ran: no training, no data validation, no pytest
    assert stderr.splitlines()[0] == f"Chromium not found: {INSTALL}"
    assert "check-browser" in stderr.splitlines()[-1]  # make's own line naming the step that stopped
