"""``python -m tfjs_interop``: the same as the ``tfjs-interop`` command."""

import sys

from .entry import main

sys.exit(main())
