"""``python -m xlstm_ts.cli``: the ``xlstm-ts`` command."""

import sys

from . import main

sys.exit(main())
