"""How the Rasa server calls the action server: a shorter wait, and a response
schema compiled once.

Rasa 3.6 waits up to five minutes for the action server, and checks every answer
with `jsonschema.validate`, which first checks the schema itself: a profile of the
server on exercise turns put half of its time there. Both are Rasa module
attributes; `configure()` sets them once, when the model loads
(components/action_server_fallback.py).
"""
import functools
from typing import Any, Dict, Text

import rasa.core.actions.action as rasa_actions
from jsonschema import exceptions, validators


@functools.lru_cache(maxsize=1)
def response_validator():
    schema = rasa_actions.RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self, result: Dict[Text, Any]) -> bool:
    """Rasa's check of an action server answer, with the compiled schema."""
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += ". Failed to validate Action server response from API."
        raise error
    return True


def configure(timeout_seconds: float) -> None:
    rasa_actions.DEFAULT_REQUEST_TIMEOUT = timeout_seconds
    rasa_actions.RemoteAction._validate_action_result = validate_action_result

