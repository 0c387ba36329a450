"""The clinic profile (clinic.yml): read once, validated, shared by every process.

A missing or malformed field stops start-up with a message naming the field and
what is expected; nothing falls back silently. Crisis contacts a clinic leaves
out come from content/crisis_defaults.yml for its region, and the values in use
are logged at start-up.
"""

import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from threshold.content_files import read_content_file

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE_PATH = PROJECT_ROOT / "clinic.yml"
CRISIS_DEFAULTS_PATH = PROJECT_ROOT / "content" / "crisis_defaults.yml"
PROFILE_PATH_ENV = "THRESHOLD_CLINIC_PROFILE"

# Free-text fields every clinic must fill in: each answers a question people ask.
REQUIRED_TEXT_FIELDS = (
    "name",
    "phone",
    "email",
    "hours",
    "online",
    "session_length",
    "fees",
    "insurance",
    "first_session",
    "what_to_bring",
    "cancellation",
    "confidentiality",
)
OPTIONAL_FIELDS = ("booking_url", "locations", "crisis", "allowed_origins", "widget")
# The website chat widget's colours; text on the primary colour must stay readable.
WIDGET_DEFAULTS = {"primary_colour": "#2f6f62", "text_on_primary": "#ffffff"}
MIN_CONTRAST = 4.5  # WCAG AA for normal text
CRISIS_FIELDS = (
    "emergency_number",
    "crisis_line",
    "crisis_line_es",
    "domestic_violence_line",
    "sexual_assault_line",
    "poison_control",
)
KNOWN_FIELDS = set(REQUIRED_TEXT_FIELDS) | set(OPTIONAL_FIELDS) | {"region"}

_URL = re.compile(r"^https://[^\s/]+\.[^\s]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. ]{3,}$")
_REGION = re.compile(r"^[A-Z]{2}$")
_ORIGIN = re.compile(r"^https?://[^\s/]+$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class ClinicProfileError(ValueError):
    """clinic.yml is missing, unreadable or has a field that is not valid."""


@dataclass(frozen=True)
class ClinicProfile:
    name: str
    region: str
    phone: str
    email: str
    hours: str
    online: str
    session_length: str
    fees: str
    insurance: str
    first_session: str
    what_to_bring: str
    cancellation: str
    confidentiality: str
    booking_url: Optional[str]
    locations: List[str]
    crisis: Dict[str, str]
    allowed_origins: List[str]
    widget: Dict[str, str]
    source: str

    def template_values(self) -> Dict[str, Any]:
        """Values that reply templates may use as {placeholders} and conditions."""
        values: Dict[str, Any] = {f"clinic_{field}": getattr(self, field) for field in REQUIRED_TEXT_FIELDS}
        values["booking_url"] = self.booking_url or ""
        values["clinic_has_booking_url"] = bool(self.booking_url)
        values["clinic_locations"] = "; ".join(self.locations)
        values.update(self.crisis)
        return values


def check_crisis_defaults(defaults_by_region: Any, path: str = str(CRISIS_DEFAULTS_PATH)) -> None:
    """content/crisis_defaults.yml: regions of known crisis fields, a `default` among them."""
    if not isinstance(defaults_by_region, dict) or not isinstance(defaults_by_region.get("default"), dict):
        raise ClinicProfileError(f"{path}: expected regions of crisis contacts, with a 'default' region")
    for region, contacts in defaults_by_region.items():
        if not isinstance(contacts, dict):
            raise ClinicProfileError(f"{path}: region '{region}' must map crisis fields to texts")
        unknown = sorted(set(contacts) - set(CRISIS_FIELDS))
        if unknown:
            raise ClinicProfileError(
                f"{path}: {region}.{unknown[0]} is not a known field; "
                f"expected one of {', '.join(CRISIS_FIELDS)}"
            )


def _fail(path: str, field: str, expected: str, got: Any = None) -> None:
    shown = "" if got is None else f" (found: {got!r})"
    raise ClinicProfileError(f"{path}: field '{field}' {expected}{shown}")


def _text(data: Dict[str, Any], field: str, path: str) -> str:
    if field not in data or data[field] is None:
        _fail(path, field, "is missing; it must be a non-empty text")
    value = data[field]
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        _fail(path, field, "must be a non-empty text", value)
    return " ".join(str(value).split())


def _string_list(data: Dict[str, Any], field: str, path: str, pattern=None) -> List[str]:
    value = data.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(path, field, "must be a list of non-empty texts", value)
    if pattern is not None:
        for item in value:
            if not pattern.match(item):
                _fail(path, field, "must list origins such as https://clinic.example.org", item)
    return [v.strip() for v in value]


def _section(data: Dict[str, Any], name: str, known, path: str) -> Dict[str, Any]:
    """An optional mapping such as `crisis:`, checked for its type and unknown fields."""
    given = data.get(name) or {}
    if not isinstance(given, dict):
        _fail(path, name, f"must be a mapping with fields among {', '.join(known)}", given)
    unknown = sorted(set(given) - set(known))
    if unknown:
        _fail(path, f"{name}.{unknown[0]}", f"is not a known field; expected one of {', '.join(known)}")
    return given


def _crisis_contacts(data: Dict[str, Any], region: str, path: str) -> Dict[str, str]:
    with open(CRISIS_DEFAULTS_PATH, encoding="utf-8") as handle:
        defaults_by_region = yaml.safe_load(handle)
    check_crisis_defaults(defaults_by_region)
    given = _section(data, "crisis", CRISIS_FIELDS, path)
    contacts = dict(defaults_by_region["default"])
    contacts.update(defaults_by_region.get(region, {}))
    for field, value in given.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
            _fail(path, f"crisis.{field}", "must be a non-empty text", value)
        contacts[field] = str(value).strip()
    if "emergency_number" not in contacts:
        _fail(path, "crisis.emergency_number", f"is missing; there is no default for region {region}")
    defaulted = sorted(set(CRISIS_FIELDS) - set(given))
    if defaulted:
        logger.info(
            "Crisis contacts from the %s defaults: %s",
            region if region in defaults_by_region else "worldwide",
            ", ".join(defaulted),
        )
    return contacts


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _widget(data: Dict[str, Any], path: str) -> Dict[str, str]:
    widget = {**WIDGET_DEFAULTS, **_section(data, "widget", tuple(WIDGET_DEFAULTS), path)}
    for field, value in widget.items():
        if not isinstance(value, str) or not _COLOUR.match(value):
            _fail(path, f"widget.{field}", "must be a colour written #rrggbb, in quotes", value)
    ratio = contrast_ratio(widget["primary_colour"], widget["text_on_primary"])
    if ratio < MIN_CONTRAST:
        _fail(
            path,
            "widget.text_on_primary",
            f"must be readable on primary_colour: contrast {ratio:.1f}:1, "
            f"at least {MIN_CONTRAST}:1 is needed",
        )
    return widget


def parse_clinic_profile(data: Any, path: str = "clinic.yml") -> ClinicProfile:
    """Validate the parsed YAML of a clinic profile."""
    if not isinstance(data, dict):
        raise ClinicProfileError(
            f"{path}: expected a mapping of fields (name: ..., phone: ...), found {type(data).__name__}"
        )
    unknown = sorted(set(data) - KNOWN_FIELDS)
    if unknown:
        _fail(path, unknown[0], "is not a known field; see README.md, 'The clinic profile'")
    region = _text(data, "region", path).upper()
    if not _REGION.match(region):
        _fail(path, "region", "must be a two-letter country code such as US", data["region"])
    fields = {field: _text(data, field, path) for field in REQUIRED_TEXT_FIELDS}
    if not _PHONE.match(fields["phone"]):
        _fail(path, "phone", "must be a phone number (digits, spaces, + ( ) - .)", fields["phone"])
    if not _EMAIL.match(fields["email"]):
        _fail(path, "email", "must be an email address", fields["email"])
    booking_url = data.get("booking_url")
    if booking_url is not None:
        if not isinstance(booking_url, str) or not _URL.match(booking_url.strip()):
            _fail(
                path,
                "booking_url",
                "must be a web address starting with https:// (or leave it out)",
                booking_url,
            )
        booking_url = booking_url.strip()
    return ClinicProfile(
        region=region,
        booking_url=booking_url,
        locations=_string_list(data, "locations", path),
        crisis=_crisis_contacts(data, region, path),
        allowed_origins=_string_list(data, "allowed_origins", path, _ORIGIN),
        widget=_widget(data, path),
        source=path,
        **fields,
    )


DEMO_PAGE_PORT_ENV = "THRESHOLD_DEMO_PAGE_PORT"


def web_origins(profile: ClinicProfile, environ=os.environ) -> List[str]:
    """The origins browsers may open the chat from: the profile's, and the demo page's
    own address when `make run` serves it (on whatever WEB_PORT is)."""
    origins = list(profile.allowed_origins)
    port = (environ.get(DEMO_PAGE_PORT_ENV) or "").strip()
    if port.isdigit():
        origins += [
            origin
            for origin in (f"http://localhost:{port}", f"http://127.0.0.1:{port}")
            if origin not in origins
        ]
    return origins


def profile_path() -> Path:
    return Path(os.environ.get(PROFILE_PATH_ENV) or DEFAULT_PROFILE_PATH)


@functools.lru_cache(maxsize=1)
def process_profile() -> ClinicProfile:
    """The profile this server process runs with: read and validated once, shared by
    the replies, the channels and the actions."""
    return load_clinic_profile()


def load_clinic_profile(path: Optional[Path] = None) -> ClinicProfile:
    """Read and validate clinic.yml (or the file named by THRESHOLD_CLINIC_PROFILE)."""
    path = Path(path) if path else profile_path()
    data = read_content_file(path, ClinicProfileError, "the clinic profile file does not exist")
    return parse_clinic_profile(data, str(path))


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--origins"]:
        print(" ".join(web_origins(load_clinic_profile())))
    else:
        profile = load_clinic_profile()
        print(f"{profile.source}: valid ({profile.name})")
