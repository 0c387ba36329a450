""" "Prepare for my first session" through the trained model and a running action server:
the whole guide, skips, stopping halfway and picking up again, a question to the
assistant inside it, a risk message inside it, and the action server down."""

import pytest
from conftest import CLINIC_FEES, CRISIS_LINE, EMERGENCY_NUMBER, Conversation, free_port, load_agent

from actions import GUIDE
from actions.first_session_guide import FORM_NAME, GUIDE_SLOTS, SKIPPED

START = "/prepare_first_session"
# Everyday answers, one per question, in the order asked.
ANSWERS = dict(
    zip(
        GUIDE_SLOTS,
        [
            "I moved for a new job last spring and I still haven't settled in",
            "I'd like to enjoy weekends again and stop snapping at my partner",
            "walking in the mornings and a meditation app for a month",
            "I'm a night-shift nurse and it takes me a while to open up",
            "How will we know if it's working? Can some sessions be online?",
        ],
    )
)


def actions(replies):
    return [r["action"] for r in replies]


def ask(slot):
    return f"utter_ask_{slot}"


def guide_state(conversation):
    tracker = conversation.tracker()
    return tracker.active_loop_name, {slot: tracker.get_slot(slot) for slot in GUIDE_SLOTS}


def answer_all(conversation, answers, start_at=0):
    """Answers the questions from `start_at` on; returns the replies to the last answer."""
    replies = []
    for index, slot in enumerate(GUIDE_SLOTS[start_at:], start=start_at):
        replies = conversation.say(answers[slot])
        if index + 1 < len(GUIDE_SLOTS):
            assert actions(replies) == [ask(GUIDE_SLOTS[index + 1])], (answers[slot], replies)
    return replies


def test_the_whole_guide_ends_with_a_summary_of_exactly_the_persons_answers(conversation):
    assert actions(conversation.say(START)) == ["utter_guide_intro", ask(GUIDE_SLOTS[0])]
    replies = answer_all(conversation, ANSWERS)
    assert actions(replies) == ["utter_guide_summary"]
    text = replies[0]["text"]
    assert GUIDE.summary(ANSWERS) in text
    for slot, label in GUIDE.labels:
        assert text.count(f"{label}:") == 1 and ANSWERS[slot] in text
    # The answers are cleared, so the next guide starts fresh.
    assert guide_state(conversation) == (None, {slot: None for slot in GUIDE_SLOTS})
    assert actions(conversation.say(START)) == ["utter_guide_intro", ask(GUIDE_SLOTS[0])]


def test_skipped_questions_are_left_out_of_the_summary(conversation):
    conversation.say(START)
    # A short no, typed "skip", the Skip button and "next" each skip a question.
    skips = {
        GUIDE_SLOTS[0]: "pass",
        GUIDE_SLOTS[1]: "skip",
        GUIDE_SLOTS[2]: "/skip_question",
        GUIDE_SLOTS[3]: "next question please",
    }
    for index, slot in enumerate(GUIDE_SLOTS):
        replies = conversation.say(skips.get(slot, ANSWERS[slot]))
        if index + 1 < len(GUIDE_SLOTS):
            assert actions(replies) == [ask(GUIDE_SLOTS[index + 1])], (slot, replies)
    assert actions(replies) == ["utter_guide_summary"]
    kept = {slot: (SKIPPED if slot in skips else ANSWERS[slot]) for slot in GUIDE_SLOTS}
    assert GUIDE.summary(kept) in replies[0]["text"]
    for slot, label in GUIDE.labels:
        assert (f"{label}:" in replies[0]["text"]) == (slot not in skips)


def test_every_question_skipped_gets_a_kind_reply_and_no_empty_notes(conversation):
    conversation.say(START)
    for _ in GUIDE_SLOTS:
        replies = conversation.say("/skip_question")
    assert actions(replies) == ["utter_guide_summary_empty"]


@pytest.mark.parametrize("stop", ["stop", "cancel", "/stop"])
def test_stopping_halfway_leaves_the_guide_and_it_picks_up_where_it_stopped(conversation, stop):
    conversation.say(START)
    answer_all_until = 2
    for slot in GUIDE_SLOTS[:answer_all_until]:
        conversation.say(ANSWERS[slot])
    assert actions(conversation.say(stop)) == ["utter_guide_paused"]
    loop, answers = guide_state(conversation)
    assert loop is None and answers[GUIDE_SLOTS[0]] == ANSWERS[GUIDE_SLOTS[0]]
    # Not trapped: an ordinary question gets its ordinary answer.
    assert actions(conversation.say("what is transference?"))[0] == "utter_answer_transference"
    assert actions(conversation.say(START)) == ["utter_guide_intro", ask(GUIDE_SLOTS[answer_all_until])]
    replies = answer_all(conversation, ANSWERS, start_at=answer_all_until)
    assert GUIDE.summary(ANSWERS) in replies[0]["text"]


def test_a_question_to_the_assistant_inside_the_guide_is_answered_then_the_question_is_asked_again(
    conversation,
):
    conversation.say(START)
    replies = conversation.say("how much does a session cost?")
    assert actions(replies) == ["utter_pre_appointment_cost", ask(GUIDE_SLOTS[0])]
    assert CLINIC_FEES in replies[0]["text"]
    assert guide_state(conversation)[0] == FORM_NAME
    assert actions(conversation.say(ANSWERS[GUIDE_SLOTS[0]])) == [ask(GUIDE_SLOTS[1])]


def test_on_the_last_question_a_question_about_therapy_is_the_answer(conversation):
    conversation.say(START)
    for slot in GUIDE_SLOTS[:-1]:
        conversation.say(ANSWERS[slot])
    question = "why does therapy take so long?"
    replies = conversation.say(question)
    assert actions(replies) == ["utter_guide_summary"]
    assert f"{dict(GUIDE.labels)[GUIDE_SLOTS[-1]]}: {question}" in replies[0]["text"]


RISK_MESSAGE = "honestly i don't want to be alive anymore"


def test_a_risk_message_inside_the_guide_gets_the_crisis_reply_and_the_guide_can_resume(conversation):
    conversation.say(START)
    conversation.say(ANSWERS[GUIDE_SLOTS[0]])
    replies = conversation.say(RISK_MESSAGE)
    assert actions(replies)[0] == "utter_crisis"
    assert CRISIS_LINE in replies[0]["text"] and EMERGENCY_NUMBER in replies[0]["text"]
    loop, answers = guide_state(conversation)
    assert loop is None and RISK_MESSAGE not in answers.values()
    assert actions(conversation.say("/safe_now")) == ["utter_crisis_safe"]
    assert actions(conversation.say(START)) == ["utter_guide_intro", ask(GUIDE_SLOTS[1])]
    replies = answer_all(conversation, ANSWERS, start_at=1)
    assert GUIDE.summary(ANSWERS) in replies[0]["text"]
    assert RISK_MESSAGE not in replies[0]["text"]


@pytest.fixture(scope="module")
def agent_without_actions():
    # Nothing listens on this port: every custom action fails, as with the action server down.
    return load_agent(f"http://127.0.0.1:{free_port()}/webhook")


def test_with_the_action_server_down_the_guide_says_so_and_a_crisis_still_gets_the_crisis_reply(
    agent_without_actions, event_loop_for_agent
):
    conversation = Conversation(agent_without_actions, event_loop_for_agent)
    # The form checks its answers with the action server from its first step.
    assert actions(conversation.say(START)) == ["utter_guide_intro", "utter_guide_unavailable"]
    assert conversation.tracker().active_loop_name is None
    replies = conversation.say(RISK_MESSAGE)
    assert actions(replies)[0] == "utter_crisis" and CRISIS_LINE in replies[0]["text"]


def test_with_the_action_server_down_a_crisis_message_inside_the_guide_gets_the_crisis_reply(
    agent, agent_without_actions, event_loop_for_agent
):
    # The guide started while the action server was up; then it went down.
    up = Conversation(agent, event_loop_for_agent)
    up.say(START)
    down = Conversation(agent_without_actions, event_loop_for_agent)
    down.sender = up.sender
    event_loop_for_agent.run_until_complete(agent_without_actions.tracker_store.save(up.tracker()))
    assert down.tracker().active_loop_name == FORM_NAME
    replies = down.say(RISK_MESSAGE)
    assert actions(replies)[0] == "utter_crisis" and CRISIS_LINE in replies[0]["text"]
