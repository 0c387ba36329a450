"""Build the small local spaCy pipeline that SpacyNLP loads by path.

No pretrained English model for spaCy 3.4 is available offline, so the
assistant uses a blank English tokenizer plus the lookup lemmatizer whose
tables ship in the spacy-lookups-data package. The tables are copied into the
pipeline folder, so nothing is fetched when the assistant runs.
"""

import sys
from pathlib import Path

import spacy


def build(target: Path) -> None:
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    target.parent.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)


if __name__ == "__main__":
    destination = Path(sys.argv[1] if len(sys.argv) > 1 else ".spacy/en_threshold")
    build(destination)
    check = spacy.load(destination)
    lemmas = [t.lemma_ for t in check("I was feeling stuck and scared")]
    print(f"spaCy pipeline written to {destination}: lemmas {lemmas}")
