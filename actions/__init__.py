"""Custom actions for the Threshold assistant.

The clinic profile, the exercise library, the clarifying question's button
titles and the first-session guide's summary words are read and validated once,
when the action server imports this package: a broken file stops start-up with a
message naming the field, instead of failing later in a conversation.
"""

import sys

from actions.first_session_guide import GuideContentError, load_guide_content
from actions.library import ExerciseLibraryError, load_library
from threshold.clarify_options import ClarifyOptionsError, load_clarify_options
from threshold.clinic_profile import ClinicProfileError, process_profile

try:
    CLINIC = process_profile()
    LIBRARY = load_library()
    # Every intent in domain.yml has a title or is listed as never offered.
    CLARIFY = load_clarify_options(placeholders=CLINIC.template_values())
    GUIDE = load_guide_content()
except (ClinicProfileError, ExerciseLibraryError, ClarifyOptionsError, GuideContentError) as error:
    sys.stderr.write(f"Threshold action server cannot start: {error}\n")
    raise SystemExit(2) from error
