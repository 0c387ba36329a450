"""The web page server (threshold.web): the widget's words, colours and headers."""

import json
import re

import pytest
import yaml
from conftest import CLINIC_NAME, CRISIS_LINE, EMERGENCY_NUMBER, PROJECT_ROOT

from threshold.clinic_profile import load_clinic_profile, parse_clinic_profile
from threshold.web import (
    WIDGET_TEXT_PATH,
    WIDGET_WORDS,
    WidgetSite,
    WidgetTextError,
    assistant_url_for,
    widget_text,
)

EXAMPLE = yaml.safe_load((PROJECT_ROOT / "clinic.yml").read_text())


@pytest.fixture
def site(monkeypatch):
    monkeypatch.delenv("THRESHOLD_ASSISTANT_URL", raising=False)
    return WidgetSite(load_clinic_profile(), rasa_port=5005)


def test_the_widget_words_are_filled_in_from_the_clinic_profile():
    text = widget_text(load_clinic_profile())
    assert text["title"] == f"{CLINIC_NAME} assistant"
    assert (
        CRISIS_LINE in text["footer"]
        and EMERGENCY_NUMBER in text["footer"]
        and "not a therapist" in text["footer"]
    )
    assert not any("{" in value for value in text.values())


def _widget_words_with(tmp_path, change):
    words = yaml.safe_load(WIDGET_TEXT_PATH.read_text(encoding="utf-8"))
    change(words)
    path = tmp_path / "widget.yml"
    path.write_text(yaml.safe_dump(words), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "change,expected",
    [
        (lambda w: w.update(title="{clinic_motto}"), r"'title' uses \{clinic_motto\}, which clinic.yml"),
        (lambda w: w.update(footer="In a crisis {crisis_line"), "'footer': a brace"),
        (lambda w: w.update(plceholder="Ask"), "unknown word 'plceholder'"),
        (lambda w: w.pop("no_answer"), "'no_answer' must be a non-empty text"),
        (lambda w: w.update(send=""), "'send' must be a non-empty text"),
    ],
)
def test_widget_words_are_checked_and_the_faulty_word_is_named(tmp_path, change, expected):
    with pytest.raises(WidgetTextError, match=expected):
        widget_text(load_clinic_profile(), _widget_words_with(tmp_path, change))


def test_every_word_the_widget_script_shows_is_in_the_widget_words():
    script = (PROJECT_ROOT / "web" / "widget.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\b(?:t|text)\.([a-z_]+)\b", script)) - {"replace", "slice"}
    assert used == set(WIDGET_WORDS)


def test_the_assistant_is_found_on_the_page_host_unless_configured(monkeypatch):
    monkeypatch.delenv("THRESHOLD_ASSISTANT_URL", raising=False)
    assert assistant_url_for("clinic.example.org:8080", 5005) == "http://clinic.example.org:5005"
    assert assistant_url_for(None, 5005) == "http://localhost:5005"
    monkeypatch.setenv("THRESHOLD_ASSISTANT_URL", "https://assistant.example.org/")
    assert assistant_url_for("clinic.example.org", 5005) == "https://assistant.example.org"


def test_the_page_escapes_the_clinic_name_and_sets_a_content_policy(monkeypatch):
    monkeypatch.delenv("THRESHOLD_ASSISTANT_URL", raising=False)
    profile = parse_clinic_profile({**EXAMPLE, "name": "Ann & <Bo> Counseling"})
    status, content_type, body, headers = WidgetSite(profile).handle("/", "localhost:8080")
    page = body.decode()
    assert status == 200 and content_type.startswith("text/html")
    assert "Ann &amp; &lt;Bo&gt; Counseling" in page and "<Bo>" not in page
    assert '<script src="widget.js" defer></script>' in page
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "ws://localhost:5005" in policy and "unsafe-inline" not in policy


def test_config_static_files_and_not_found(site):
    status, _, body, _ = site.handle("/widget-config.json?x=1", "localhost:8080")
    config = json.loads(body)
    assert status == 200 and config["assistant_url"] == "http://localhost:5005"
    widget = load_clinic_profile().widget
    assert config["colours"] == {
        "primary": widget["primary_colour"],
        "text_on_primary": widget["text_on_primary"],
    }
    for path in ("/widget.js", "/widget.css", "/vendor/socket.io.min.js"):
        assert site.handle(path, None)[0] == 200
    assert site.handle("/../clinic.yml", None)[0] == 404
    assert site.handle("/web/index.html", None)[0] == 404
