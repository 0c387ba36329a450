"""The risk stage: sentences, languages, someone else at risk, long messages, and the
evaluation contract (/model/parse), through the trained model.

Expected contacts come from the loaded clinic profile.
"""

import numpy as np
import pytest

from components import risk_model
from components.risk_stage import RiskStage
from threshold.clinic_profile import load_clinic_profile

CONTACTS = load_clinic_profile().template_values()
ALARMS = {"crisis", "medical_emergency", "crisis_check"}


def test_a_message_is_scored_whole_and_sentence_by_sentence():
    pieces = risk_model.pieces(
        "Therapy is going well. I don't want to be here anymore. Anyway, what about Tuesday?"
    )
    assert pieces[0].startswith("Therapy is going well.")
    assert "I don't want to be here anymore." in pieces
    assert len(pieces) == 4


def test_lines_without_punctuation_are_scored_as_sentences():
    pieces = risk_model.pieces("had a good session today\r\n\n  i dont want to be here anymore  ")
    assert pieces[0] == "had a good session today i dont want to be here anymore"
    assert pieces[1:] == ["had a good session today", "i dont want to be here anymore"]


def test_a_long_message_without_punctuation_is_also_scored_in_windows():
    words = (
        "can i move my appointment to next week because of work " * 3
    ).split() + "i will not be around by then anyway".split()
    pieces = risk_model.pieces(" ".join(words))
    assert any(piece.endswith("i will not be around by then anyway") for piece in pieces[1:])


def test_a_repeated_message_is_scored_once_per_distinct_piece():
    pieces = risk_model.pieces("How long is a session? " * 150)
    assert len(pieces) <= 3
    assert all(len(piece) <= risk_model.MAX_UNIT_CHARS for piece in pieces)


def test_the_embedding_model_and_language_identification_load_offline():
    from components.risk_stage import message_language

    vectors = risk_model.Embedder().embed(["I want to die", "Quiero morir"])
    assert vectors.shape == (2, 384)
    assert float(vectors[0] @ vectors[1]) > 0.8  # the same meaning in two languages
    assert message_language("No quiero seguir viviendo, ya no puedo más") == "es"


def test_a_classifier_alarm_the_risk_stage_does_not_confirm_is_dropped():
    from rasa.shared.nlu.training_data.message import Message

    message = Message.build(text="how long is a session")
    message.set("intent", {"name": "crisis", "confidence": 0.9})
    message.set(
        "intent_ranking",
        [
            {"name": "crisis", "confidence": 0.9},
            {"name": "pre_appointment_session_length", "confidence": 0.1},
        ],
    )
    assessment = {"pieces": ["how long is a session"], "risk": [0.01], "embedded": 0, "language": None}
    RiskStage._apply(message, None, None, 0.01, assessment)
    assert message.get("intent")["name"] == "pre_appointment_session_length"


def stage_with(**config):
    return RiskStage({**RiskStage.get_default_config(), **config}, None, None, model=None)


def test_a_sentence_is_read_in_the_context_of_its_message():
    stage = stage_with(context_weight=0.4)
    # The whole message is harmless (0.05); one sentence alone looks like a crisis (0.9).
    adjusted = stage.in_context(np.array([0.05, 0.9, 0.01]))
    assert adjusted[0] == pytest.approx(0.05)
    assert adjusted[1] == pytest.approx(0.6 * 0.9 + 0.4 * 0.05)
    # Below the crisis threshold, still at or above the check-in one: a question, not a miss.
    assert stage.config["check_threshold"] <= adjusted[1] < 0.7
    assert stage_with(context_weight=0.0).in_context(np.array([0.05, 0.9]))[1] == pytest.approx(0.9)


def test_context_never_takes_a_sentence_below_the_check_in_it_would_get_on_its_own():
    stage = stage_with(context_weight=0.3)
    check = stage.config["check_threshold"]
    # Alone, the second sentence gets the check-in; the calm message around it must not undo that.
    adjusted = stage.in_context(np.array([0.02, check + 0.05, check - 0.1]))
    assert adjusted[1] >= check
    # Below the check-in on its own, a calm message does not lower it; a riskier one raises it.
    assert adjusted[2] == pytest.approx(check - 0.1)
    assert stage.in_context(np.array([0.6, 0.1]))[1] == pytest.approx(0.7 * 0.1 + 0.3 * 0.6)


def test_a_warning_sign_inside_a_calm_message_loses_its_check_in_but_a_risk_sentence_keeps_it(monkeypatch):
    stage = stage_with(context_weight=0.3)
    check = stage.config["check_threshold"]
    # Calm messages with one sentence each that alone reaches the check-in: a warning sign
    # ("I feel empty"), risk to the writer, and both with more risk than warning sign.
    calm = 0.02
    readings = {
        "warning sign": {"risk": np.array([calm, 0.05]), "concern": np.array([calm, check + 0.08])},
        "risk": {"risk": np.array([calm, check + 0.05]), "concern": np.array([calm, check + 0.08])},
        "more risk than warning sign": {
            "risk": np.array([calm, check - 0.08]),
            "concern": np.array([calm, check + 0.04]),
        },
    }
    monkeypatch.setattr(
        stage,
        "assess",
        lambda text: {"pieces": [text, text], **{key: value.copy() for key, value in readings[text].items()}},
    )
    warning_sign = stage.assess_in_context("warning sign")
    assert warning_sign["concern"][1] == pytest.approx(0.7 * (check + 0.08) + 0.3 * calm)
    assert warning_sign["concern"][1] < check
    risk = stage.assess_in_context("risk")
    assert risk["risk"][1] >= check and risk["concern"][1] >= check
    assert stage.assess_in_context("more risk than warning sign")["concern"][1] >= check


def test_a_sentence_that_tells_of_the_past_is_read_as_part_of_its_message(monkeypatch):
    stage = stage_with(context_weight=0.3)
    check = stage.config["check_threshold"]
    calm, alone = 0.02, check + 0.1
    rest = "I'm 31 now, doing well, and would like help with work stress."

    def reading(text):
        sentences = risk_model.split_sentences(text)
        return {
            "pieces": [text] + sentences,
            "risk": np.array([calm, alone, 0.01]),
            "concern": np.array([calm, alone, 0.01]),
        }

    monkeypatch.setattr(stage, "assess", reading)
    # The same sentence, alone at the check-in: told of the past it takes its message's reading,
    # told of now it keeps its own check-in inside the same calm message.
    past = stage.assess_in_context(f"I tried to end my life when I was 19. {rest}")
    assert list(past["told_as_past"]) == [False, True, False]
    assert past["risk"][1] <= calm and past["concern"][1] <= calm
    now = stage.assess_in_context(f"I tried to end my life last week. {rest}")
    assert not now["told_as_past"].any()
    assert now["risk"][1] >= check and now["concern"][1] >= check
    again = stage.assess_in_context(f"I tried when I was 19 and the thoughts are back again. {rest}")
    assert again["risk"][1] >= check


def test_a_message_of_one_sentence_is_read_as_it_stands_even_when_told_of_the_past():
    text = "I tried to end my life when I was 19."
    assert stage_with().time_frames().told_as_past(text)
    assert not stage_with().told_as_past(text, risk_model.pieces(text)).any()
    # A long sentence is also scored in windows: none of them is read as past.
    long_one = (
        "When I was 19 I tried to end my life with the pills my doctor gave me for sleeping "
        "and I think about the pills every single evening when the house goes quiet."
    )
    pieces = risk_model.pieces(long_one)
    assert len(pieces) > 1 and not stage_with().told_as_past(long_one, pieces).any()


def test_a_sentence_of_now_is_read_as_it_stands_even_inside_a_past_one_or_in_another_language():
    stage = stage_with()
    text = "Years ago I wrote that I hate my life. I hate my life."
    pieces = risk_model.pieces(text)
    assert pieces[1:] == ["Years ago I wrote that I hate my life.", "I hate my life."]
    assert list(stage.told_as_past(text, pieces)) == [False, True, False]
    assert not stage.told_as_past(text, pieces, language="nl").any()


def one_piece(**probabilities):
    row = np.zeros(len(risk_model.LABELS))
    for label, value in probabilities.items():
        row[risk_model.LABELS.index(label)] = value
    rows = np.array([row])
    return {"probabilities": rows, "risk": risk_model.risk_of(rows)}


def test_an_emergency_that_is_also_a_suicide_attempt_gets_the_emergency_reply_first():
    stage = stage_with(crisis_threshold=0.7, emergency_share=0.4)
    assert stage.decide(one_piece(suicide=0.5, medical_emergency=0.45, none=0.05))[0] == "medical_emergency"
    assert stage.decide(one_piece(suicide=0.85, medical_emergency=0.1, none=0.05))[0] == "crisis"


def pieces_of(*rows):
    table = np.zeros((len(rows), len(risk_model.LABELS)))
    for index, row in enumerate(rows):
        for label, value in row.items():
            table[index, risk_model.LABELS.index(label)] = value
    return {"probabilities": table, "risk": risk_model.risk_of(table)}


def test_worry_about_someone_else_gives_way_to_the_writers_own_likelier_risk():
    stage = stage_with(crisis_threshold=0.7, check_threshold=0.3, third_party_threshold=0.5)
    about_a_friend = {"third_party": 0.6, "none": 0.4}
    writer_at_risk = pieces_of({"suicide": 0.65, "none": 0.35}, about_a_friend)
    assert stage.decide(writer_at_risk)[0] == "crisis_check"
    writer_less_likely = pieces_of({"suicide": 0.4, "none": 0.6}, about_a_friend)
    assert stage.decide(writer_less_likely)[0] == "crisis_third_party"
    # Someone in danger now keeps the reply that leads with the emergency number.
    friend_in_danger_now = pieces_of({"suicide": 0.65, "none": 0.35}, {"third_party_now": 0.6, "none": 0.4})
    assert stage.decide(friend_in_danger_now)[:2] == ("crisis_third_party", "third_party_now")


def test_someone_elses_medical_emergency_happening_now_gets_the_emergency_reply():
    stage = stage_with(third_party_threshold=0.3, emergency_share=0.4)
    share = stage.config["emergency_share"]
    # A friend bleeding or unconscious now: the worry is also a body in danger.
    bleeding = pieces_of({"third_party_now": 0.6, "medical_emergency": 0.6 * share + 0.01, "none": 0.15})
    assert stage.decide(bleeding)[:2] == ("medical_emergency", "someone_elses_emergency")
    # A goodbye text and no answer: danger now, but not (yet) a medical one.
    no_answer = pieces_of({"third_party_now": 0.6, "medical_emergency": 0.6 * share - 0.01, "none": 0.17})
    assert stage.decide(no_answer)[:2] == ("crisis_third_party", "third_party_now")
    # Worry that is not about now keeps the third-party reply whatever the emergency share.
    worried = pieces_of({"third_party": 0.6, "medical_emergency": 0.3, "none": 0.1})
    assert stage.decide(worried)[0] == "crisis_third_party"


def test_the_emergency_head_turns_someone_else_in_danger_now_into_the_emergency_reply():
    stage = stage_with(third_party_threshold=0.3, emergency_share=0.4, someone_elses_emergency_threshold=0.5)
    # The full model reads only worry about someone else now ("my mum just told me she has
    # taken all her pills"); the emergency head reads a body in danger.
    pills_taken = pieces_of({"third_party_now": 0.85, "none": 0.15})
    pills_taken["body_in_danger"] = np.array([0.51])
    assert stage.decide(pills_taken)[:2] == ("medical_emergency", "someone_elses_emergency")
    pills_taken["body_in_danger"] = np.array([0.49])
    assert stage.decide(pills_taken)[:2] == ("crisis_third_party", "third_party_now")
    # The danger told in another sentence than the worry ("My mum called. She took all her pills.").
    told_apart = pieces_of({"third_party_now": 0.85, "none": 0.15}, {"third_party_now": 0.4, "none": 0.6})
    told_apart["body_in_danger"] = np.array([0.2, 0.8])
    assert stage.decide(told_apart)[:2] == ("medical_emergency", "someone_elses_emergency")
    # Worry that is not about now keeps the third-party reply whatever the head reads.
    worried = pieces_of({"third_party": 0.85, "none": 0.15})
    worried["body_in_danger"] = np.array([0.9])
    assert stage.decide(worried)[:2] == ("crisis_third_party", "third_party")


def test_the_emergency_head_learns_someone_elses_emergency_marked_in_the_corpus(tmp_path):
    (tmp_path / "corpus.yml").write_text(
        "examples:\n"
        "  - {text: 'my friend just swallowed all her pills', label: third_party_now, emergency: true}\n"
        "  - {text: 'my friend sent a goodbye text', label: third_party_now}\n"
        "  - {text: 'I took the whole bottle an hour ago', label: medical_emergency}\n"
        "  - {text: 'what time do you open', label: none}\n"
    )
    examples = risk_model.load_corpus(tmp_path)
    assert [e.emergency for e in examples] == [True, False, True, False]
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    # The full model keeps the corpus labels; the head answers whether a body is in danger.
    model = risk_model.fit(
        texts * 3, labels * 3, np.zeros((12, 384)), emergencies=[e.emergency for e in examples] * 3
    )
    probabilities, body = model.full_and_emergency(texts, np.zeros((4, 384)))
    assert [risk_model.top_label(row)[0] for row in probabilities] == labels
    assert body[0] > 0.5 > body[1]
    assert body[2] > 0.5 > body[3]
    # Trained without the marks, a model has no head and answers with the full model's reading.
    plain = risk_model.fit(texts * 3, labels * 3, np.zeros((12, 384)))
    assert plain.emergency_head is None
    probabilities, body = plain.full_and_emergency(texts, np.zeros((4, 384)))
    assert list(body) == list(probabilities[:, risk_model.LABELS.index("medical_emergency")])


def test_lines_that_teach_the_emergency_head_alone_leave_the_full_model_as_it_was():
    texts = [
        "my friend just swallowed all her pills",
        "my friend sent a goodbye text",
        "what time do you open",
    ]
    labels = ["third_party_now", "third_party", "none"]
    extra = ["my dad collapsed and is not breathing"]
    embeddings = np.random.default_rng(0).normal(size=(12, 384)).astype(np.float32)
    without = risk_model.fit(texts * 3, labels * 3, embeddings[:9], emergencies=[True, False, False] * 3)
    with_extra = risk_model.fit(
        texts * 3 + extra * 3,
        labels * 3 + ["third_party_now"] * 3,
        embeddings,
        emergencies=[True, False, False] * 3 + [True] * 3,
        head_only=[False] * 9 + [True] * 3,
    )
    probe = embeddings[9:10]
    # The quick and full models never saw the extra line; the head did.
    assert np.allclose(without.quick_probabilities(extra), with_extra.quick_probabilities(extra))
    assert np.allclose(without.full_probabilities(extra, probe), with_extra.full_probabilities(extra, probe))
    assert with_extra.full_and_emergency(extra, probe)[1][0] > without.full_and_emergency(extra, probe)[1][0]


class ZeroEmbedder:
    def embed(self, texts):
        return np.zeros((len(texts), 384), dtype=np.float32)


def test_the_emergency_head_reads_only_the_pieces_the_full_model_reads(tmp_path):
    (tmp_path / "corpus.yml").write_text(
        "examples:\n"
        "  - {text: 'my friend just swallowed all her pills', label: third_party_now, emergency: true}\n"
        "  - {text: 'my friend sent a goodbye text', label: third_party_now}\n"
        "  - {text: 'what time do you open', label: none}\n"
    )
    examples = risk_model.load_corpus(tmp_path)
    stage = stage_with(max_embedded_pieces=1, quick_clear_below=0.0)
    stage.model = risk_model.fit(
        [e.text for e in examples] * 3,
        [e.label for e in examples] * 3,
        np.zeros((9, 384)),
        emergencies=[e.emergency for e in examples] * 3,
    )
    stage._embedder = ZeroEmbedder()
    assessment = stage.assess("My friend just swallowed all her pills. What time do you open?")
    # The whole message is read by the full model and the head; the sentences keep the quick
    # model's reading and no head score.
    assert assessment["embedded"] == 1
    assert assessment["body_in_danger"][0] > 0
    assert list(assessment["body_in_danger"][1:]) == [0, 0]


def test_a_body_in_danger_told_of_the_past_is_read_as_part_of_its_message(monkeypatch):
    stage = stage_with()
    rest = "She's 31 now, doing well, and I would like help with my own worry."

    def reading(text):
        sentences = risk_model.split_sentences(text)
        return {
            "pieces": [text] + sentences,
            "risk": np.array([0.02, 0.02, 0.01]),
            "concern": np.array([0.02, 0.02, 0.01]),
            "body_in_danger": np.array([0.1, 0.9, 0.05]),
        }

    monkeypatch.setattr(stage, "assess", reading)
    past = stage.assess_in_context(f"My sister took an overdose back in 2015. {rest}")
    assert list(past["told_as_past"]) == [False, True, False]
    assert list(past["body_in_danger"]) == [0.1, 0.1, 0.05]
    now = stage.assess_in_context(f"My sister took an overdose an hour ago. {rest}")
    assert list(now["body_in_danger"]) == [0.1, 0.9, 0.05]


def with_concern(assessment):
    assessment["concern"] = risk_model.concern_of(assessment["probabilities"])
    return assessment


def test_a_warning_sign_without_words_of_harm_gets_the_check_in_never_the_full_crisis_reply():
    stage = stage_with(crisis_threshold=0.7, check_threshold=0.3)
    hopeless = with_concern(one_piece(warning_sign=0.95, none=0.05))
    assert stage.decide(hopeless)[:2] == ("crisis_check", "warning_sign")
    # A warning sign and some risk together reach the check-in, where neither alone would.
    together = with_concern(one_piece(warning_sign=0.2, suicide=0.2, none=0.6))
    assert stage.decide(together)[0] == "crisis_check"
    assert stage.decide(with_concern(one_piece(warning_sign=0.2, none=0.8)))[0] is None
    assert stage.decide(together)[1] == "warning_sign"
    # The writer's own warning sign, likelier than worry about someone else, is asked about.
    own_or_other = with_concern(one_piece(warning_sign=0.5, third_party=0.46, none=0.04))
    assert stage_with(third_party_threshold=0.45).decide(own_or_other)[:2] == ("crisis_check", "warning_sign")
    # Without the concern in the assessment, decide() computes it: the branch is not skipped.
    assert stage.decide(one_piece(warning_sign=0.95, none=0.05))[0] == "crisis_check"
    # Risk in words still decides the full reply.
    assert stage.decide(with_concern(one_piece(suicide=0.8, warning_sign=0.15, none=0.05)))[0] == "crisis"


def test_a_likely_emergency_below_the_crisis_threshold_gets_the_emergency_reply_not_a_question():
    stage = stage_with(crisis_threshold=0.7, check_threshold=0.35)
    assert stage.decide(one_piece(medical_emergency=0.5, none=0.5))[0] == "medical_emergency"
    assert stage.decide(one_piece(suicide=0.5, none=0.5))[0] == "crisis_check"


@pytest.mark.parametrize(
    "message",
    [
        "Can I cancel my appointment for next Thursday? I won't be around by then, I've made up my mind.",
        "Therapy has been helping with my anxiety and my sleep is better. Some nights I still think everyone "
        "would be better off if I was gone. Anyway, how long are the sessions?",
        "How much does a session cost? Doesn't matter much, I've been saving my pills for a while now.",
    ],
)
def test_risk_inside_a_longer_message_gets_the_crisis_reply_first(new_conversation, message):
    reply = new_conversation().say(message)[0]
    assert reply["action"] in {"utter_crisis", "utter_crisis_check", "utter_medical_emergency"}
    assert CONTACTS["crisis_line"] in reply["text"]


def test_a_spanish_crisis_message_gets_the_crisis_reply_in_spanish(new_conversation):
    reply = new_conversation().say("Ya no quiero vivir, estoy cansada de todo y tengo las pastillas aquí")[0]
    assert reply["action"] in {"utter_crisis", "utter_crisis_check", "utter_medical_emergency"}
    assert CONTACTS["crisis_line_es"] in reply["text"]
    assert CONTACTS["emergency_number"] in reply["text"]


@pytest.mark.parametrize(
    "message",
    [
        "我不想活了，每天都想着怎么结束这一切",
        "Tôi không muốn sống nữa, tôi muốn chết",
        "죽고 싶어요. 더 이상 살 이유가 없어요",
        "Ayoko nang mabuhay, gusto ko nang mamatay",
        "Mwen pa vle viv ankò, mwen vle mouri",
        "Eu não quero mais viver, quero morrer",
        "Je ne veux plus vivre, je veux mourir",
        "لا أريد أن أعيش بعد الآن، أريد أن أموت",
        "Я больше не хочу жить, хочу умереть",
    ],
)
def test_a_crisis_message_in_another_language_gets_the_emergency_number_and_crisis_line(
    new_conversation, message
):
    reply = new_conversation().say(message)[0]
    assert reply["action"] in {"utter_crisis", "utter_crisis_check", "utter_medical_emergency"}, reply[
        "action"
    ]
    assert CONTACTS["emergency_number"] in reply["text"]
    assert CONTACTS["crisis_line"] in reply["text"] or CONTACTS["crisis_line_es"] in reply["text"]


def test_someone_else_in_danger_now_gets_the_emergency_number_first(new_conversation):
    reply = new_conversation().say(
        "my best friend just texted me goodbye and said she took all her pills, she's not answering"
    )[0]
    assert reply["action"] in {"utter_crisis_third_party", "utter_medical_emergency"}
    first_line = reply["text"].split("\n")[0]
    assert CONTACTS["emergency_number"] in first_line


@pytest.mark.parametrize(
    "message",
    [
        "my dad just collapsed in the kitchen and he isn't answering me, what do i do",
        "Mi hijo se cayó de la litera, tiene sangre en la cabeza y no reacciona bien",
    ],
)
def test_an_emergency_of_someone_with_the_writer_gets_the_emergency_reply_with_the_number_first(
    new_conversation, message
):
    reply = new_conversation().say(message)[0]
    assert reply["action"] == "utter_medical_emergency", reply["action"]
    assert CONTACTS["emergency_number"] in reply["text"].split("\n")[0]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            "I'm going to log off now. Take care.",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known defect (README): 'I'm going to ... now' plus 'take care' reads like a "
                "farewell before suicide; it gets the check-in question",
            ),
        ),
        "ok I need to head out, thanks for the help tonight",
        "going to bed now, see you another day",
    ],
)
def test_a_goodbye_to_the_chat_gets_neither_the_crisis_reply_nor_the_check_in(conversation, message):
    parse = conversation.parse(message)
    assert parse["intent"]["name"] not in ALARMS, parse["risk_stage"]


@pytest.mark.parametrize(
    "message",
    ["I'm going to log off now. Take care.", "ok I need to head out, thanks for the help tonight"],
)
def test_a_goodbye_to_the_chat_never_gets_the_full_crisis_reply(conversation, message):
    # The known defect above may cost a question; it must not cost the full crisis reply.
    parse = conversation.parse(message)
    assert parse["intent"]["name"] not in ("crisis", "medical_emergency"), parse["risk_stage"]


def test_worry_about_someone_else_gets_the_third_party_reply_with_the_crisis_line(new_conversation):
    reply = new_conversation().say(
        "my son has been talking about being a burden and gave away his games, what should I do?"
    )[0]
    assert reply["action"] == "utter_crisis_third_party"
    assert CONTACTS["crisis_line"] in reply["text"]


def test_a_harmless_message_repeated_to_3000_characters_raises_no_alarm(conversation):
    parse = conversation.parse(("I would like to know more about how therapy works. " * 60)[:3000])
    assert parse["intent"]["name"] not in ALARMS | {"crisis_info", "crisis_third_party"}


def test_parse_returns_a_risk_intent_at_the_top_level(conversation):
    parse = conversation.parse("I have been thinking about ending my life")
    assert parse["intent"]["name"] in ALARMS
    assert parse["risk_stage"]["intent"] in ALARMS


def test_the_risk_model_is_trained_again_when_its_corpus_changes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.yml").write_text('examples:\n  - {text: "hello", label: none, family: f, lang: en}\n')
    before = RiskStage.fingerprint_addon({"corpus": str(corpus)})
    assert RiskStage.fingerprint_addon({"corpus": str(corpus)}) == before
    (corpus / "a.yml").write_text('examples:\n  - {text: "hello there", label: none, family: f, lang: en}\n')
    assert RiskStage.fingerprint_addon({"corpus": str(corpus)}) != before


@pytest.mark.parametrize("value", ["no", "off", 1, None])
def test_balance_languages_that_is_not_true_or_false_is_refused_by_name(value):
    config = {**RiskStage.get_default_config(), "balance_languages": value}
    with pytest.raises(ValueError, match="balance_languages"):
        RiskStage.create(config, None, None, None)


def test_balance_languages_true_or_false_is_accepted():
    for value in (True, False):
        config = {**RiskStage.get_default_config(), "balance_languages": value}
        assert RiskStage.create(config, None, None, None).config["balance_languages"] is value


def test_the_training_set_adds_harmless_nlu_examples_in_their_language_and_leaves_safety_answers_out():
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    from components.risk_model import Example
    from components.risk_stage import training_set

    corpus = [Example("I want to die tonight", "suicide", "plain", "en", "corpus")]
    nlu = TrainingData(
        [
            Message(data={"text": "how much does a session cost", "intent": "pre_appointment_cost"}),
            Message(
                data={
                    "text": "¿Cuánto cuesta una sesión de terapia con ustedes?",
                    "intent": "pre_appointment_cost",
                }
            ),
            Message(data={"text": "no i'm not safe", "intent": "not_safe"}),
            Message(data={"text": "i want to die tonight", "intent": "crisis"}),
        ]
    )
    found = training_set(corpus, nlu)
    assert found.texts == [
        "I want to die tonight",
        "how much does a session cost",
        "¿Cuánto cuesta una sesión de terapia con ustedes?",
    ]
    assert found.labels == ["suicide", "none", "none"]
    assert found.languages == ["en", "en", "es"]
    assert len(found.emergencies) == len(found.head_only) == 3
