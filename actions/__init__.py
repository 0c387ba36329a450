"""Custom actions for the Threshold assistant.

The clinic profile and the exercise library are read and validated once, when
the action server imports this package: a broken file stops start-up with a
message naming the field, instead of failing later in a conversation.
"""
import sys

from threshold.clinic_profile import ClinicProfileError, process_profile
from actions.library import ExerciseLibraryError, load_library

try:
    CLINIC = process_profile()
    LIBRARY = load_library()
except (ClinicProfileError, ExerciseLibraryError) as error:
    sys.stderr.write(f"Threshold action server cannot start: {error}\n")
    raise SystemExit(2)
