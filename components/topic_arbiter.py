"""TopicArbiter: a second reading of a short question about therapy that the risk stage doubts.

The risk model reads words of ending and stopping as it must: "I think I'm ready to stop" alone
may be about a life. Beside a question about therapy ("How do I tell my therapist?") it is
about sessions, and a check-in there asks "are you thinking of suicide?" of someone who asked
when therapy ends. The intent classifier alone cannot settle this: it has seen few risk
messages, and files hopeless messages about life under feeling stuck in therapy.

The arbiter is one logistic regression over the message's sentence embedding, trained on every
NLU example under its intent and on every risk line of the risk corpus under the safety intent
its label maps to (SAFETY_INTENT_OF). So it weighs a topic against thousands of ways of telling
risk. The risk stage (components/risk_stage.py) lets a check-in give way to the topic only when
the arbiter's first intent is the classifier's topic and the safety intents share little of it.
"""

from dataclasses import dataclass
from typing import Dict, List, Sequence, Text

import numpy as np
from sklearn.linear_model import LogisticRegression

from components.risk_model import EMERGENCY, INFO, SELF_RISK, THIRD_PARTY, WARNING

# A risk corpus label -> the intent the arbiter learns it as.
SAFETY_INTENT_OF: Dict[Text, Text] = {
    **{label: "crisis" for label in SELF_RISK},
    **{label: "medical_emergency" for label in EMERGENCY},
    **{label: "crisis_third_party" for label in THIRD_PARTY},
    **{label: "crisis_info" for label in INFO},
    **{label: "crisis_check" for label in WARNING},
}
SAFETY_INTENTS = frozenset(SAFETY_INTENT_OF.values()) | {"not_safe"}


@dataclass
class TopicArbiter:
    classifier: LogisticRegression
    # Sentence embeddings of any two texts are alike: centring them leaves what tells them apart.
    embedding_mean: np.ndarray

    @property
    def intents(self) -> List[Text]:
        return list(self.classifier.classes_)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        return self.classifier.predict_proba(np.asarray(embeddings, dtype=np.float32) - self.embedding_mean)

    def reading(self, embedding: np.ndarray) -> Dict[Text, object]:
        """The first intent of one message, and the share of the safety intents."""
        row = self.probabilities(np.asarray(embedding).reshape(1, -1))[0]
        intents = self.intents
        safety = float(sum(row[i] for i, name in enumerate(intents) if name in SAFETY_INTENTS))
        return {"intent": intents[int(row.argmax())], "safety": safety}


def fit_arbiter(
    texts_intents: Sequence[Sequence[Text]], embeddings: np.ndarray, *, c: float = 10.0, seed: int = 2025
) -> TopicArbiter:
    """`texts_intents`: (text, intent) pairs in the order of `embeddings`' rows."""
    intents = [intent for _, intent in texts_intents]
    embeddings = np.asarray(embeddings, dtype=np.float32)
    mean = embeddings.mean(axis=0)
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed).fit(embeddings - mean, intents)
    return TopicArbiter(classifier, mean)
