"""``python -m constrain``: the command line (see :mod:`constrain.cli`)."""

import sys

from .cli import main

sys.exit(main())
