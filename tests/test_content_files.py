"""Every content loader reads its file through threshold/content_files.py."""

import pytest

from components.safety_net import SafetyPatternsError, load_patterns
from threshold.content_files import read_content_file


class LoaderError(ValueError):
    pass


def test_a_missing_or_broken_content_file_gives_the_loaders_error_naming_the_file(tmp_path):
    with pytest.raises(LoaderError, match="none.yml: the file is missing"):
        read_content_file(tmp_path / "none.yml", LoaderError, "the file is missing")
    broken = tmp_path / "broken.yml"
    broken.write_text("titles: [a\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="broken.yml: not valid YAML"):
        read_content_file(broken, LoaderError, "the file is missing")
    fine = tmp_path / "fine.yml"
    fine.write_text("titles: [a, b]\n", encoding="utf-8")
    assert read_content_file(fine, LoaderError, "the file is missing") == {"titles": ["a", "b"]}


def test_broken_safety_patterns_stop_with_the_file_named_not_a_parser_trace(tmp_path, spacy_nlp):
    broken = tmp_path / "safety_patterns.yml"
    broken.write_text("families: {x: [\n", encoding="utf-8")
    with pytest.raises(SafetyPatternsError, match="safety_patterns.yml: not valid YAML"):
        load_patterns(broken, spacy_nlp)
