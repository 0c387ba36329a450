"""The website chat widget in a real browser: Debian's Chromium driven by
Playwright, against the demo page (threshold.web) and a running assistant.

Screenshots of the widget at desktop and phone width are written to results/screenshots/
(not tracked; copy one to docs/ by hand when the widget's look changes).
"""

import json
import os
import re
import shutil
import sqlite3
import urllib.request

import pytest
import yaml
from conftest import (
    BOOKING_URL,
    CLINIC_FEES,
    CLINIC_NAME,
    CRISIS_LINE,
    EMERGENCY_NUMBER,
    PROJECT_ROOT,
    VENV_BIN,
    start_process,
    stop_process,
    wait_for_http,
)
from playwright import sync_api as playwright_api

from threshold.clinic_profile import load_clinic_profile

# Found as scripts/check_browser.sh (run first by `make test`) finds it: THRESHOLD_CHROMIUM, else
# `chromium` on the PATH (Debian's /usr/bin/chromium).
CHROMIUM = os.environ.get("THRESHOLD_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root in a container, without the network: no sandbox, no background calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = PROJECT_ROOT / "results" / "screenshots"
WIDGET_TEXT = yaml.safe_load((PROJECT_ROOT / "content" / "widget.yml").read_text())
ANSWER_WAIT_MS = 30_000


@pytest.fixture(scope="module")
def site(channel_server, widget_site_port, widget_clinic_profile):
    """The demo clinic page with the widget; its URL."""
    process = start_process(
        [
            str(VENV_BIN / "python"),
            "-m",
            "threshold.web",
            "--port",
            str(widget_site_port),
            "--host",
            "127.0.0.1",
        ],
        PROJECT_ROOT / "logs" / "test-web.log",
        env={
            "THRESHOLD_CLINIC_PROFILE": str(widget_clinic_profile),
            "THRESHOLD_ASSISTANT_URL": channel_server,
        },
    )
    url = f"http://127.0.0.1:{widget_site_port}"
    try:
        wait_for_http(url + "/", process, timeout=30)
        yield url
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def browser():
    assert os.path.exists(CHROMIUM), "Chromium is missing: sudo apt-get install -y chromium (.ci/run does)"
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    opened = context.new_page()
    opened.dialogs = []
    opened.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    opened.set_default_timeout(ANSWER_WAIT_MS)
    yield opened
    context.close()


def css_rgb(colour):
    """A #rrggbb colour as the browser's computed style gives it: rgb(r, g, b)."""
    return "rgb({}, {}, {})".format(*(int(colour[i : i + 2], 16) for i in (1, 3, 5)))


def bot_messages(page):
    return page.locator(".threshold-bot p")


def open_chat(page, site):
    page.goto(site + "/")
    page.get_by_role("button", name=WIDGET_TEXT["open_label"].split("{")[0].strip()).click()
    # The assistant introduces itself when the chat first opens.
    playwright_api.expect(bot_messages(page).first).to_contain_text("not a therapist")


def ask(page, text):
    before = bot_messages(page).count()
    box = page.get_by_label(WIDGET_TEXT["input_label"])
    box.fill(text)
    box.press("Enter")
    playwright_api.expect(page.locator(".threshold-user p").last).to_have_text(text)
    playwright_api.expect(bot_messages(page)).not_to_have_count(before)
    page.wait_for_timeout(500)  # a reply can come in several messages


def test_a_question_gets_the_answer_with_the_booking_link(page, site):
    open_chat(page, site)
    ask(page, "why does therapy take time?")
    answer = page.locator(".threshold-bot").filter(has_text="Rothbaum")
    playwright_api.expect(answer).to_have_count(1)
    link = page.locator(f".threshold-bot a[href='{BOOKING_URL}']").first
    playwright_api.expect(link).to_be_visible()
    assert link.get_attribute("rel") == "noopener noreferrer"


def test_typing_indicator_shows_until_the_reply_and_colours_come_from_the_profile(
    page, site, widget_clinic_profile
):
    widget = load_clinic_profile(widget_clinic_profile).widget
    open_chat(page, site)
    # Record every time the indicator is shown or hidden.
    page.evaluate("""() => {
        window.typingSeen = [];
        const typing = document.querySelector('.threshold-typing');
        new MutationObserver(() => window.typingSeen.push(!typing.hidden))
            .observe(typing, {attributes: true, attributeFilter: ['hidden']});
    }""")
    ask(page, "how long is a session?")
    seen = page.evaluate("window.typingSeen")
    # The greeting's own indicator may still be hiding when recording starts: what counts is
    # that it was shown for the question and hidden once the reply came.
    assert True in seen and seen[-1] is False
    assert page.locator(".threshold-typing").is_hidden()
    header = page.locator(".threshold-header")
    assert header.evaluate("e => getComputedStyle(e).backgroundColor") == css_rgb(widget["primary_colour"])
    assert header.evaluate("e => getComputedStyle(e).color") == css_rgb(widget["text_on_primary"])


def test_pressing_a_button_sends_its_choice(page, site):
    open_chat(page, site)
    ask(page, "why does therapy take time?")
    button = page.locator(".threshold-bot .threshold-button").last
    title = button.inner_text()
    before = bot_messages(page).count()
    button.click()
    playwright_api.expect(page.locator(".threshold-user p").last).to_have_text(title)
    playwright_api.expect(bot_messages(page)).not_to_have_count(before)


def test_a_crisis_message_gets_the_crisis_reply(page, site):
    open_chat(page, site)
    ask(page, "i want to kill myself")
    replies = " ".join(bot_messages(page).all_inner_texts())
    assert CRISIS_LINE in replies and EMERGENCY_NUMBER in replies and "safe right now" in replies


def test_html_in_messages_is_shown_as_text_and_never_run(page, site):
    attack = "<img src=x onerror=alert(1)>"
    open_chat(page, site)
    ask(page, attack)
    playwright_api.expect(page.locator(".threshold-user p").last).to_have_text(attack)
    # A reply that carried HTML would be shown as text too.
    page.evaluate(
        "window.thresholdChat.receive({text: 'Look <img src=y onerror=alert(2)> <b>here</b>: https://example.org/a.'})"
    )
    playwright_api.expect(bot_messages(page).last).to_have_text(
        "Look <img src=y onerror=alert(2)> <b>here</b>: https://example.org/a."
    )
    assert page.locator("#threshold-chat img, #threshold-chat b").count() == 0
    assert page.locator(".threshold-bot a[href='https://example.org/a']").count() == 1
    page.wait_for_timeout(500)
    assert page.dialogs == []


def test_the_conversation_survives_a_reload(page, site, channel_database):
    open_chat(page, site)
    ask(page, "what happens at the first session?")
    before = page.locator(".threshold-message p").all_inner_texts()
    session = page.evaluate("JSON.parse(sessionStorage.getItem('threshold-chat')).sessionId")
    page.reload()
    playwright_api.expect(page.locator(".threshold-message p")).to_have_count(len(before))
    assert page.locator(".threshold-message p").all_inner_texts() == before
    assert page.evaluate("JSON.parse(sessionStorage.getItem('threshold-chat')).sessionId") == session
    # The same conversation goes on, in the same stored tracker.
    ask(page, "how much does it cost?")
    assert CLINIC_FEES in " ".join(bot_messages(page).all_inner_texts())
    with sqlite3.connect(channel_database) as connection:
        stored = [
            row[0]
            for row in connection.execute(
                "select intent_name from events where sender_id = ? and type_name = 'user' order by id",
                (session,),
            )
        ]
    assert stored == ["greet", "pre_appointment_first_session", "pre_appointment_cost"]


PRIVACY_REPLIES = yaml.safe_load((PROJECT_ROOT / "data" / "responses" / "privacy.yml").read_text())[
    "responses"
]


def test_a_deleted_conversation_leaves_only_the_confirmation_on_screen_and_in_the_tab(
    page, site, channel_database
):
    open_chat(page, site)
    ask(page, "what happens at the first session?")
    session = page.evaluate("JSON.parse(sessionStorage.getItem('threshold-chat')).sessionId")
    ask(page, "please delete this conversation")
    yes = PRIVACY_REPLIES["utter_confirm_delete_conversation"][0]["buttons"][0]["title"]
    page.locator(".threshold-bot .threshold-button", has_text=yes).last.click()
    done = PRIVACY_REPLIES["utter_conversation_deleted"][0]["text"].split(":")[0]
    playwright_api.expect(page.locator(".threshold-message")).to_have_count(1)
    playwright_api.expect(bot_messages(page).first).to_contain_text(done)
    stored = page.evaluate("JSON.parse(sessionStorage.getItem('threshold-chat')).messages.length")
    assert stored == 1
    with sqlite3.connect(channel_database) as connection:
        rows = connection.execute("select count(*) from events where sender_id = ?", (session,)).fetchone()[0]
    assert rows == 0
    page.reload()
    playwright_api.expect(page.locator(".threshold-message")).to_have_count(1)


def test_keyboard_only(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    launcher = page.locator(".threshold-launcher")
    playwright_api.expect(launcher).to_be_focused()
    assert launcher.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    box = page.get_by_label(WIDGET_TEXT["input_label"])
    playwright_api.expect(box).to_be_focused()
    playwright_api.expect(page.get_by_role("dialog")).to_be_visible()
    playwright_api.expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
    page.keyboard.type("what is transference?")
    page.keyboard.press("Enter")
    playwright_api.expect(page.locator(".threshold-bot").filter(has_text="Rothbaum")).to_have_count(1)
    page.wait_for_timeout(1000)  # the reply's last message
    # Going back from the input reaches the reply's links, then its buttons; Enter presses one.
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate("document.activeElement.closest('.threshold-bot') !== null")
        if page.evaluate("document.activeElement.tagName") == "BUTTON":
            break
    title = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")
    playwright_api.expect(page.locator(".threshold-user p").last).to_have_text(title)
    page.keyboard.press("Escape")
    playwright_api.expect(page.get_by_role("dialog")).to_be_hidden()
    playwright_api.expect(launcher).to_be_focused()


def test_the_footer_stays_visible(page, site):
    open_chat(page, site)
    for question in ("why does therapy take time?", "I feel stuck", "how do I know it is working?"):
        ask(page, question)
    footer = page.locator(".threshold-footer")
    playwright_api.expect(footer).to_be_in_viewport()
    assert "not a therapist" in footer.inner_text() and CRISIS_LINE in footer.inner_text()


def test_a_page_from_another_origin_cannot_open_the_chat(page, site):
    other_origin = site.replace("127.0.0.1", "localhost")
    page.goto(other_origin + "/")
    page.locator(".threshold-launcher").click()
    playwright_api.expect(page.locator(".threshold-status")).to_contain_text("can't be reached")
    assert bot_messages(page).count() == 0


@pytest.mark.parametrize(
    "name,viewport", [("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})]
)
def test_screenshots_at_desktop_and_phone_width(browser, site, name, viewport):
    context = browser.new_context(
        viewport=viewport, device_scale_factor=1, is_mobile=name == "phone", has_touch=name == "phone"
    )
    page = context.new_page()
    page.set_default_timeout(ANSWER_WAIT_MS)
    try:
        open_chat(page, site)
        ask(page, "why does therapy take time?")
        panel = page.locator(".threshold-panel").bounding_box()
        if name == "phone":
            assert panel["width"] == viewport["width"] and panel["height"] == viewport["height"]
        else:
            assert panel["width"] < viewport["width"] / 2
        playwright_api.expect(page.locator(".threshold-footer")).to_be_in_viewport()
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"widget-{name}.png"))
    finally:
        context.close()


def test_the_config_carries_the_clinic_words_and_colours(site, channel_server):
    with urllib.request.urlopen(site + "/widget-config.json") as response:
        config = json.loads(response.read())
    assert config["assistant_url"] == channel_server
    assert re.fullmatch(r"#[0-9a-f]{6}", config["colours"]["primary"])
    assert CLINIC_NAME in config["text"]["title"] and CRISIS_LINE in config["text"]["footer"]
    # When the assistant cannot answer (it is down, or a reply is lost), the crisis line is still there.
    for word in ("offline", "no_answer"):
        assert CRISIS_LINE in config["text"][word] and EMERGENCY_NUMBER in config["text"][word], word
    assert not any("{" in value for value in config["text"].values())


GUIDE_REPLIES = yaml.safe_load((PROJECT_ROOT / "data" / "responses" / "first_session_guide.yml").read_text())[
    "responses"
]
HELP_BUTTONS = next(
    variant["buttons"]
    for variant in yaml.safe_load((PROJECT_ROOT / "data" / "responses" / "conversation.yml").read_text())[
        "responses"
    ]["utter_help"]
    if not variant.get("condition")
)
GUIDE_ANSWERS = [
    "Work has been overwhelming since my promotion",
    "I'd like to sleep through the night again",
    None,  # skipped with the button
    "I'm a single dad of two and mornings are chaos",
    "Will my therapist give me homework?",
]


def go_through_the_guide(page, site):
    """Starts the guide from the help menu's button, answers (one skip), returns the notes."""
    from actions import GUIDE
    from actions.first_session_guide import GUIDE_SLOTS, SKIPPED

    open_chat(page, site)
    ask(page, "what can you do?")
    start = next(b["title"] for b in HELP_BUTTONS if b["payload"] == "/prepare_first_session")
    page.locator(".threshold-bot .threshold-button", has_text=start).last.click()
    skip = GUIDE_REPLIES["utter_ask_guide_reason"][0]["buttons"][0]["title"]
    for answer in GUIDE_ANSWERS:
        playwright_api.expect(
            page.locator(".threshold-bot .threshold-button", has_text=skip).last
        ).to_be_visible()
        if answer is None:
            page.locator(".threshold-bot .threshold-button", has_text=skip).last.click()
            page.wait_for_timeout(500)
        else:
            ask(page, answer)
    notes = GUIDE.summary(
        {slot: SKIPPED if answer is None else answer for slot, answer in zip(GUIDE_SLOTS, GUIDE_ANSWERS)}
    )
    playwright_api.expect(page.locator(".threshold-notes-actions")).to_have_count(1)
    playwright_api.expect(bot_messages(page).last).to_contain_text(notes.splitlines()[-1])
    return notes


def notes_button(page, word):
    return page.locator(".threshold-notes-actions .threshold-button", has_text=WIDGET_TEXT[word])


def test_the_first_session_notes_can_be_copied_printed_and_downloaded(browser, site, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    page.set_default_timeout(ANSWER_WAIT_MS)
    try:
        notes = go_through_the_guide(page, site)
        assert notes in bot_messages(page).last.inner_text()

        notes_button(page, "notes_copy").click()
        playwright_api.expect(notes_button(page, "notes_copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == notes

        with page.expect_download() as download_info:
            notes_button(page, "notes_download").click()
        download = download_info.value
        assert download.suggested_filename == WIDGET_TEXT["notes_file_name"]
        saved = tmp_path / download.suggested_filename
        download.save_as(str(saved))
        assert saved.read_text(encoding="utf-8") == notes

        # The print dialog itself is the browser's: count the calls, then look at the page as
        # it prints.
        page.evaluate("() => { window.printCalls = 0; window.print = () => { window.printCalls += 1; }; }")
        notes_button(page, "notes_print").click()
        assert page.evaluate("window.printCalls") == 1
        page.emulate_media(media="print")
        sheet = page.locator("#threshold-print-sheet")
        playwright_api.expect(sheet).to_be_visible()
        assert sheet.inner_text() == notes
        playwright_api.expect(page.locator(".threshold-chat")).to_be_hidden()
        playwright_api.expect(page.locator("main")).to_be_hidden()
        page.emulate_media(media="screen")
        playwright_api.expect(sheet).to_be_hidden()

        # The buttons are still there after a reload (the tab keeps the notes).
        page.reload()
        playwright_api.expect(page.locator(".threshold-notes-actions")).to_have_count(1)
        page.locator(".threshold-notes-actions").scroll_into_view_if_needed()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.locator(".threshold-panel").screenshot(path=str(SCREENSHOTS / "first-session-notes.png"))
    finally:
        context.close()
