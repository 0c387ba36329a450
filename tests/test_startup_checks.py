"""Start-up refuses what it cannot honour, with a message that says what to do: a Rasa
version the overrides of Rasa internals were not written for, and a JWT setting for
the website chat channel, which does not use JWTs."""

import os
import re
import subprocess
import sys

import pytest
import rasa
import yaml
from conftest import PROJECT_ROOT, VENV_BIN
from rasa.shared.exceptions import InvalidConfigException

from threshold import rasa_overrides
from threshold.channels.website import ClinicSocketIOInput

OTHER_VERSIONS = ["3.6.20", "3.6.22", "3.7.0", "4.0.0"]


def run_python(code, timeout=120):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"},
    )


# The Rasa version --------------------------------------------------------------------


def test_the_overrides_were_written_for_the_pinned_and_installed_rasa():
    pinned = re.search(r"^rasa==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert rasa_overrides.WRITTEN_FOR_RASA == pinned == rasa.__version__ == "3.6.21"
    rasa_overrides.check_rasa_version()
    rasa_overrides.check_rasa_version("3.6.21")


@pytest.mark.parametrize("version", OTHER_VERSIONS)
def test_another_rasa_version_is_refused_naming_both_versions(monkeypatch, version):
    monkeypatch.setattr(rasa, "__version__", version)
    with pytest.raises(rasa_overrides.UnsupportedRasaVersion) as refused:
        rasa_overrides.check_rasa_version()
    message = str(refused.value)
    assert f"written for Rasa 3.6.21, but Rasa {version} is installed" in message
    assert f"the overrides in threshold/rasa_overrides.py must be reviewed for Rasa {version}" in message


def test_no_override_is_installed_on_another_rasa_version(monkeypatch):
    import rasa.core.actions.action as rasa_actions
    import rasa.core.run as rasa_run
    from rasa.core.processor import MessageProcessor

    before = (
        MessageProcessor._log_action_on_tracker,
        rasa_run.configure_app,
        rasa_actions.DEFAULT_REQUEST_TIMEOUT,
        rasa_actions.RemoteAction._validate_action_result,
    )
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    for install in (
        rasa_overrides.install_crisis_reminder,
        lambda: rasa_overrides.install_server_guards(64),
        lambda: rasa_overrides.configure_action_client(3.0),
        lambda: rasa_overrides.telegram_output_for_server(object(), "token", None),
        lambda: rasa_overrides.slack_client_for_server(object(), "token", None, "http://127.0.0.1:1"),
        lambda: rasa_overrides.socketio_blueprint(object(), "/socket.io", "a_name", __name__),
        lambda: rasa_overrides.events_not_stored_yet(object(), object(), object(), 0),
    ):
        with pytest.raises(rasa_overrides.UnsupportedRasaVersion, match="3.7.0"):
            install()
    assert (
        MessageProcessor._log_action_on_tracker,
        rasa_run.configure_app,
        rasa_actions.DEFAULT_REQUEST_TIMEOUT,
        rasa_actions.RemoteAction._validate_action_result,
    ) == before


def test_the_rasa_servers_response_generator_does_not_load_the_action_server_package():
    # The actions package checks the exercise library when imported and exits with the
    # action server's message; the Rasa server must not run that check as its own.
    result = run_python(
        "import sys\n"
        "from rasa.shared.core.domain import Domain\n"
        "from threshold.nlg import ClinicResponseGenerator\n"
        "ClinicResponseGenerator(domain=Domain.load('domain.yml'))\n"
        "print('actions' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


def test_importing_the_overrides_on_another_rasa_version_stops_before_touching_its_internals():
    result = run_python(
        "import rasa, sys\n"
        "rasa.__version__ = '3.7.0'\n"
        "try:\n"
        "    import threshold.rasa_overrides\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, error)\n"
        "print('rasa.core.processor' in sys.modules)\n"
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first.startswith(
        "UnsupportedRasaVersion Threshold's overrides of Rasa internals were written for "
        "Rasa 3.6.21, but Rasa 3.7.0 is installed"
    )
    assert second == "False"  # refused before importing the internals it overrides


def test_the_server_does_not_start_on_another_rasa_version():
    """`make run` starts the server through threshold.rasa_server: one clear line, exit 1."""
    result = run_python(
        "import rasa\n"
        "rasa.__version__ = '3.7.0'\n"
        "from threshold.rasa_server import main\n"
        "main(['run', '--model', 'models/threshold.tar.gz', '--port', '0'])\n"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Cannot start the assistant: Threshold's overrides of Rasa internals were written for Rasa 3.6.21, "
        "but Rasa 3.7.0 is installed: the overrides in threshold/rasa_overrides.py must be reviewed for "
        "Rasa 3.7.0 (then set WRITTEN_FOR_RASA there), or install the pinned Rasa 3.6.21 with `make setup`."
    )


# JWT settings for the website chat ------------------------------------------------------


def project_socketio_credentials():
    credentials = yaml.safe_load((PROJECT_ROOT / "credentials.yml").read_text())
    return dict(credentials["threshold.channels.website.ClinicSocketIOInput"] or {})


def test_the_shipped_socketio_credentials_are_accepted():
    channel = ClinicSocketIOInput.from_credentials(project_socketio_credentials())
    assert isinstance(channel, ClinicSocketIOInput) and channel.session_persistence


@pytest.mark.parametrize(
    "settings, named",
    [
        ({"jwt_key": "a-shared-secret"}, "jwt_key"),
        ({"jwt_method": "HS256"}, "jwt_method"),
        ({"jwt_key": "a-shared-secret", "jwt_method": "HS256"}, "jwt_key or jwt_method"),
        ({"jwt_key": None}, "jwt_key"),
    ],
    ids=["key", "method", "both", "empty-key"],
)
def test_a_jwt_setting_for_the_website_chat_is_refused_by_name(settings, named):
    with pytest.raises(InvalidConfigException) as refused:
        ClinicSocketIOInput.from_credentials({**project_socketio_credentials(), **settings})
    message = str(refused.value)
    assert message.startswith(
        f"credentials.yml: the website chat channel "
        f"(threshold.channels.website.ClinicSocketIOInput) does not support {named}: "
    )
    assert "signs itself" in message and "Remove" in message


def test_rasa_run_with_a_jwt_key_stops_at_start_up_with_the_message(tmp_path):
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(
        yaml.safe_dump(
            {
                "threshold.channels.website.ClinicSocketIOInput": {
                    **project_socketio_credentials(),
                    "jwt_key": "secret",
                }
            }
        )
    )
    result = subprocess.run(
        [
            str(VENV_BIN / "rasa"),
            "run",
            "--credentials",
            str(credentials),
            "--model",
            "models/threshold.tar.gz",
            "--port",
            "0",
            "--interface",
            "127.0.0.1",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert result.returncode == 1
    assert (
        "InvalidConfigException: credentials.yml: the website chat channel" in result.stdout + result.stderr
    )
    assert "does not support jwt_key" in result.stdout + result.stderr
