"""clinic.yml: validation at start-up, and replies that follow it without retraining."""

import copy
import re
import subprocess

import pytest
import yaml
from conftest import PROJECT_ROOT, VENV_BIN, Conversation, load_agent

from threshold.clinic_profile import (
    DEMO_PAGE_PORT_ENV,
    ClinicProfileError,
    load_clinic_profile,
    parse_clinic_profile,
    web_origins,
)
from threshold.nlg import ClinicResponseGenerator

# The shipped example: the base the tests below change one field of, whatever profile
# THRESHOLD_CLINIC_PROFILE names for the rest of the suite.
SHIPPED_PROFILE = PROJECT_ROOT / "clinic.yml"
EXAMPLE = yaml.safe_load(SHIPPED_PROFILE.read_text())


def with_changes(**changes):
    data = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def test_the_shipped_clinic_yml_is_valid_and_clearly_fictional():
    # The file in the project, not whatever THRESHOLD_CLINIC_PROFILE names.
    profile = load_clinic_profile(SHIPPED_PROFILE)
    if "example" not in profile.name.lower():
        pytest.skip("clinic.yml is a clinic's own profile now, not the shipped example")
    # Area code 555 is not assigned to any place: a number nobody can be sent to by mistake.
    assert re.match(r"\(555\) ", profile.phone), profile.phone
    assert profile.booking_url.endswith("example.org/book") or ".example.org/" in profile.booking_url
    assert profile.region == "US"


def test_us_crisis_defaults_fill_what_the_clinic_left_out():
    profile = parse_clinic_profile(with_changes(crisis=None))
    assert profile.crisis["emergency_number"] == "911"
    assert "988" in profile.crisis["crisis_line"]
    assert "1-800-799-7233" in profile.crisis["domestic_violence_line"]
    assert "1-800-656-4673" in profile.crisis["sexual_assault_line"]


def test_outside_the_us_the_emergency_number_is_required_and_the_line_defaults_to_findahelpline():
    with pytest.raises(ClinicProfileError, match="crisis.emergency_number"):
        parse_clinic_profile(with_changes(region="DE", crisis=None))
    profile = parse_clinic_profile(with_changes(region="DE", crisis={"emergency_number": "112"}))
    assert profile.crisis["emergency_number"] == "112"
    assert "findahelpline.com" in profile.crisis["crisis_line"]


@pytest.mark.parametrize(
    "changes,field",
    [
        ({"name": None}, "name"),
        ({"phone": None}, "phone"),
        ({"fees": ""}, "fees"),
        ({"phone": "call us!"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"booking_url": "juniperlane/book"}, "booking_url"),
        ({"booking_url": "http://clinic.example.org/book"}, "booking_url"),
        ({"region": "United States"}, "region"),
        ({"locations": "Main Street"}, "locations"),
        ({"crisis": {"hotline": "123"}}, "crisis.hotline"),
        ({"crisis": {"emergency_number": ""}}, "crisis.emergency_number"),
        ({"bookng_url": "https://x.example.org"}, "bookng_url"),
        ({"allowed_origins": ["juniperlane.example.org"]}, "allowed_origins"),
    ],
)
def test_a_bad_field_gives_an_error_naming_it(changes, field):
    with pytest.raises(ClinicProfileError) as error:
        parse_clinic_profile(with_changes(**changes))
    assert f"'{field}'" in str(error.value)


def test_unreadable_files_give_clear_errors(tmp_path):
    with pytest.raises(ClinicProfileError, match="does not exist"):
        load_clinic_profile(tmp_path / "missing.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n")
    with pytest.raises(ClinicProfileError, match="not valid YAML"):
        load_clinic_profile(broken)
    broken.write_text("- just\n- a list\n")
    with pytest.raises(ClinicProfileError, match="expected a mapping"):
        load_clinic_profile(broken)


def test_action_server_refuses_to_start_with_an_invalid_profile(tmp_path):
    bad = tmp_path / "clinic.yml"
    bad.write_text(yaml.safe_dump(with_changes(booking_url="not a link")))
    result = subprocess.run(
        [str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", "0"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": str(VENV_BIN),
            "PYTHONPATH": str(PROJECT_ROOT),
            "THRESHOLD_CLINIC_PROFILE": str(bad),
            "RASA_TELEMETRY_ENABLED": "false",
        },
    )
    assert result.returncode != 0
    assert "'booking_url'" in result.stderr
    assert "cannot start" in result.stderr


def _generator_for(tmp_path, agent, **changes):
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(with_changes(**changes)))
    return ClinicResponseGenerator(domain=agent.domain, profile=load_clinic_profile(path))


def test_editing_the_profile_changes_replies_without_retraining(tmp_path, agent, event_loop_for_agent):
    generator = _generator_for(
        tmp_path,
        agent,
        name="Cedar Grove Therapy (example clinic)",
        booking_url="https://cedargrove.example.org/start",
        fees="Each session costs $95.",
    )
    edited = load_agent(None, generator=generator)
    conversation = Conversation(edited, event_loop_for_agent)
    cost = conversation.say("how much is a session?")
    assert "$95" in cost[0]["text"]
    assert "https://cedargrove.example.org/start" in cost[-1]["text"]
    booking = conversation.say("i want to book an appointment")
    assert "Cedar Grove Therapy" in booking[0]["text"]


def test_without_a_booking_link_people_get_other_ways_to_find_a_therapist(tmp_path, agent):
    generator = _generator_for(tmp_path, agent, booking_url=None)
    phone = parse_clinic_profile(EXAMPLE).phone  # the profile the generator was given
    booking = generator.generate_from_slots("utter_book_appointment", {}, "rest")
    assert "locator.apa.org" in booking["text"] and phone in booking["text"]
    for _ in range(10):
        pointer = generator.generate_from_slots("utter_therapist_pointer", {"in_crisis": False}, "rest")
        assert "{" not in pointer["text"] and phone in pointer["text"]


def test_crisis_replies_use_the_configured_contacts(tmp_path, agent):
    generator = _generator_for(
        tmp_path,
        agent,
        region="GB",
        crisis={"emergency_number": "999", "crisis_line": "call Samaritans on 116 123"},
    )
    reply = generator.generate_from_slots("utter_crisis", {"crisis_family": None}, "rest")
    assert "call 999" in reply["text"] and "Samaritans on 116 123" in reply["text"]
    assert "988" not in reply["text"]


def test_widget_colours_default_and_must_be_readable():
    assert parse_clinic_profile(with_changes(widget=None)).widget == {
        "primary_colour": "#2f6f62",
        "text_on_primary": "#ffffff",
    }
    dark = parse_clinic_profile(with_changes(widget={"primary_colour": "#1a1a6e"})).widget
    assert dark["primary_colour"] == "#1a1a6e" and dark["text_on_primary"] == "#ffffff"
    with pytest.raises(ClinicProfileError, match=r"widget.text_on_primary.*contrast 1.\d:1"):
        parse_clinic_profile(with_changes(widget={"primary_colour": "#f0f0f0", "text_on_primary": "#ffffff"}))
    with pytest.raises(ClinicProfileError, match="widget.primary_colour.*#rrggbb"):
        parse_clinic_profile(with_changes(widget={"primary_colour": "teal"}))
    with pytest.raises(ClinicProfileError, match="widget.font"):
        parse_clinic_profile(with_changes(widget={"font": "Comic Sans"}))


def test_contrast_ratio_matches_wcag():
    from threshold.clinic_profile import contrast_ratio

    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast_ratio("#777777", "#ffffff"), 2) == 4.48
    assert contrast_ratio("#2f6f62", "#ffffff") >= 4.5


def test_the_demo_pages_own_origin_is_allowed_on_whatever_port_it_is_served():
    profile = load_clinic_profile()
    origins = web_origins(profile, {DEMO_PAGE_PORT_ENV: "8123"})
    assert origins[: len(profile.allowed_origins)] == profile.allowed_origins
    assert "http://localhost:8123" in origins and "http://127.0.0.1:8123" in origins
    assert web_origins(profile, {}) == profile.allowed_origins


@pytest.mark.parametrize(
    "change,named",
    [
        (lambda d: d["US"].update(crisis_lin="988"), r"US\.crisis_lin is not a known field"),
        (lambda d: d.pop("default"), "'default' region"),
        (lambda d: d.update(CA="911"), "region 'CA' must map"),
    ],
)
def test_a_mistake_in_the_crisis_defaults_is_named(change, named):
    from threshold.clinic_profile import CRISIS_DEFAULTS_PATH, check_crisis_defaults

    defaults = yaml.safe_load(CRISIS_DEFAULTS_PATH.read_text(encoding="utf-8"))
    check_crisis_defaults(copy.deepcopy(defaults))
    change(defaults)
    with pytest.raises(ClinicProfileError, match=named):
        check_crisis_defaults(defaults)
