import os
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.chdir(PROJECT_ROOT)

SPACY_PIPELINE = PROJECT_ROOT / ".spacy" / "en_threshold"
MODEL_PATH = PROJECT_ROOT / "models" / "threshold.tar.gz"


@pytest.fixture(scope="session")
def spacy_nlp():
    import spacy

    return spacy.load(SPACY_PIPELINE)


@pytest.fixture(scope="session")
def safety_patterns(spacy_nlp):
    from components.safety_net import load_patterns

    return load_patterns(PROJECT_ROOT / "content" / "safety_patterns.yml", spacy_nlp)
