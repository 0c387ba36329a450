"""Telling a sentence told of the past (content/time_frames.yml) from one told of now."""

import pytest

from components.time_frames import TimeFrames, TimeFramesError, load_time_frames, normalise


def frames(**data):
    return TimeFrames({"told_as_past": ["when i was <number>"], "still_or_again": ["again"], **data}, "t.yml")


def test_the_phrase_syntax_reads_numbers_years_alternatives_and_optional_words():
    found = frames(told_as_past=["<number> years|months ago", "in <year>", "when i was a? kid|teen"])
    assert found.told_as_past("I overdosed 12 years ago.")
    assert found.told_as_past("it happened two months ago")
    assert found.told_as_past("I was in hospital in 2015")
    assert not found.told_as_past("in 3 days I will be gone")
    assert found.told_as_past("when I was a kid") and found.told_as_past("when I was teen")
    assert not found.told_as_past("when I was told")


def test_a_sentence_that_also_tells_of_now_or_again_is_not_told_as_past():
    found = frames()
    assert found.told_as_past("I cut when I was 14")
    assert not found.told_as_past("I cut when I was 14 and I did it again")


def test_words_are_matched_whole_with_contractions_written_out():
    assert normalise("I\u2019ve been self-harm free") == "i have been self harm free"
    found = frames(told_as_past=["used to"], still_or_again=["am used to"])
    assert found.told_as_past("I used to cut")
    assert not found.told_as_past("I'm used to it")
    assert not found.told_as_past("unused toner")


@pytest.mark.parametrize(
    "data,field",
    [
        ({"told_as_past": []}, "told_as_past"),
        ({"still_or_again": "again"}, "still_or_again"),
        ({"told_as_past": ["when I was <number>"]}, "told_as_past"),
        ({"told_as_past": ["a? the?"]}, "not optional"),
        ({"told_as_past": ["years ago"], "still_or_again": ["again"], "stil_or_again": []}, "stil_or_again"),
    ],
)
def test_a_malformed_time_frames_file_gives_an_error_naming_the_field(data, field):
    with pytest.raises(TimeFramesError, match=field):
        TimeFrames({"told_as_past": ["years ago"], "still_or_again": ["again"], **data}, "t.yml")


def test_a_missing_or_broken_time_frames_file_is_named(tmp_path):
    with pytest.raises(TimeFramesError, match="does not exist"):
        load_time_frames(tmp_path / "none.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("told_as_past: [years ago\n", encoding="utf-8")
    with pytest.raises(TimeFramesError, match="broken.yml: not valid YAML"):
        load_time_frames(broken)


@pytest.mark.parametrize(
    "sentence",
    [
        "My father died by suicide when I was 12.",
        "I was hospitalized after an overdose back in 2015.",
        "Nine years ago I tried to end my life.",
        "I used to self harm in middle school.",
    ],
)
def test_the_shipped_time_frames_read_a_past_event_as_past(sentence):
    assert load_time_frames().told_as_past(sentence)


# Risk now, told with words of the past: each must be read as it stands.
@pytest.mark.parametrize(
    "sentence",
    [
        "I took an overdose an hour ago.",
        "I used to cut and last night I started again.",
        "When I was 14 I first tried and I want to try again.",
        "He used to hurt me and he's outside now.",
        "I used to be fine but I can't take this.",
        "Back in 2019 I bought the rope and I have it in my car.",
        "I was three years sober until I took the whole bottle.",
        "Two weeks ago I tried to hang myself.",
        "I'm back in the ward after cutting.",
        "I'm in my teens and I don't want to live.",
        "Years ago I made a plan and I'll carry it out this weekend.",
    ],
)
def test_the_shipped_time_frames_read_risk_now_told_with_past_words_as_it_stands(sentence):
    assert not load_time_frames().told_as_past(sentence)


def test_a_year_is_past_only_when_it_is_two_years_gone():
    import datetime

    this_year = datetime.date.today().year
    found = frames(told_as_past=["in <year>"])
    assert found.told_as_past(f"it happened in {this_year - 2}")
    assert not found.told_as_past(f"it happened in {this_year - 1}")
    assert not found.told_as_past(f"it will happen in {this_year + 1}")
