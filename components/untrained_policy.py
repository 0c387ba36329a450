"""UntrainedPolicy: the base of the project's policies whose behaviour is their settings.

They learn nothing from stories or rules; training only checks that every action, response
or intent their settings name is in the domain (a misspelt name stops training with a message
that names it), and stores an empty resource so the model can load them.
"""

from typing import Any, List, Text

from rasa.core.policies.policy import Policy
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.exceptions import InvalidConfigException


class UntrainedPolicy(Policy):
    def missing_from(self, domain: Domain) -> List[Text]:
        """The names in this policy's settings that the domain does not have."""
        raise NotImplementedError

    def train(
        self, training_trackers: List[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        missing = self.missing_from(domain)
        if missing:
            raise InvalidConfigException(f"{type(self).__name__}: not in the domain: {', '.join(missing)}.")
        with self._model_storage.write_to(self._resource):
            pass  # nothing to learn; the resource lets the model load this policy
        return self._resource
