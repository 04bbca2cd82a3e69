"""``python -m benchmarks``: every benchmark, every table."""

import sys

from benchmarks.run_all import main

sys.exit(main())
