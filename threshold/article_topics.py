"""The article's topics: the intents answered from the article, one `utter_answer_<topic>`
response each in data/responses/article.yml, in the order that file lists them."""

from pathlib import Path
from typing import List, Text

import yaml

ARTICLE_RESPONSES_PATH = Path(__file__).resolve().parent.parent / "data" / "responses" / "article.yml"
ANSWER_PREFIX = "utter_answer_"


def article_topics(path: Path = ARTICLE_RESPONSES_PATH) -> List[Text]:
    responses = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["responses"]
    return [name[len(ANSWER_PREFIX) :] for name in responses if name.startswith(ANSWER_PREFIX)]
