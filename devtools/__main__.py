"""``python -m devtools``: run the Resend / Twilio / webhook stand-ins (see ``devtools.standins``)."""

import sys

from devtools.standins import main

if __name__ == "__main__":
    sys.exit(main())
