"""`python -m rasa_fixes run ...`: Rasa's own command line, with `rasa_fixes` applied first."""

import rasa_fixes

rasa_fixes.apply()

from rasa.__main__ import main  # noqa: E402  (after the fixes, so Rasa starts with them)

main()
