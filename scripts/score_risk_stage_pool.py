"""The risk stage alone (no patterns, no classifier) on every development risk message.

Trains the risk model as the stage does, on the corpus less the files named with --without,
and scores the development messages of scripts/compare_risk_settings.py (the development sets
and every frozen risk set but the newest) with the settings of config.yml. All of them have
been looked at, so the figures are development figures. Counted as in compare_risk_settings.

    .venv/bin/python scripts/score_risk_stage_pool.py [--without FILE.yml ...]
"""

import argparse
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from compare_risk_settings import component_config, count_outcome, development_messages, train  # noqa: E402

from components import risk_model  # noqa: E402
from components.risk_stage import RiskStage  # noqa: E402

# Embeddings of the pool's pieces, kept apart from the training cache.
POOL_CACHE = ROOT / ".cache" / "pool_embeddings"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without", nargs="*", default=[], help="corpus files to leave out")
    args = parser.parse_args()
    config = dict(RiskStage.get_default_config(), **component_config("RiskStage"))
    stage = RiskStage(config, None, None, train(set(args.without)))
    stage._embedder = risk_model.Embedder(threads=2, cache_dir=POOL_CACHE)
    counts = Counter()
    for expected, text in development_messages():
        count_outcome(counts, expected, stage.decide(stage.assess_in_context(text))[0])
    stage._embedder.save()
    print(
        f"crises {counts['caught']}/{counts['crisis']}, "
        f"emergencies {counts['emergency']}/{counts['medical_emergency']}, "
        f"someone else {counts['third']}/{counts['third_party']}, "
        f"harmless: full alarms {counts['alarms']}/{counts['harmless']}, "
        f"check-ins {counts['checks']}/{counts['harmless']}"
    )


if __name__ == "__main__":
    main()
