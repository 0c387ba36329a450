"""Reply templates filled in with the clinic's profile, inside the Rasa server.

Replies are fixed, reviewed text in data/responses/. Their {placeholders}
(clinic_name, booking_url, crisis_line, ...) and conditions
(clinic_has_booking_url) come from clinic.yml, so a clinic changes its details
without retraining, and the crisis replies carry the configured numbers even
when the action server is down. Set in endpoints.yml:

    nlg:
      type: threshold.nlg.ClinicResponseGenerator
"""
import logging
from typing import Any, Dict, Optional, Text

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from threshold.clinic_profile import ClinicProfile, process_profile

logger = logging.getLogger(__name__)


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self,
        endpoint_config: Any = None,
        domain: Optional[Domain] = None,
        profile: Optional[ClinicProfile] = None,
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)
        self.profile = profile or process_profile()
        self.clinic_values = self.profile.template_values()
        logger.info("Clinic profile loaded from %s", self.profile.source)

    def values_for(self, filled_slots: Dict[Text, Any]) -> Dict[Text, Any]:
        # Conversation slots never override the clinic's own details.
        return {**filled_slots, **self.clinic_values}

    async def generate(
        self,
        utter_action: Text,
        tracker: DialogueStateTracker,
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        return self.generate_from_slots(
            utter_action, tracker.current_slot_values(), output_channel, **kwargs
        )

    def generate_from_slots(
        self,
        utter_action: Text,
        filled_slots: Dict[Text, Any],
        output_channel: Text,
        **kwargs: Any,
    ) -> Optional[Dict[Text, Any]]:
        return super().generate_from_slots(
            utter_action, self.values_for(filled_slots), output_channel, **kwargs
        )
