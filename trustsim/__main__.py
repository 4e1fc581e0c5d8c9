"""``python -m trustsim``: the command line, exiting with the status ``cli.main`` returns."""

import sys

from .cli import main

sys.exit(main())
