"""`python -m infra.local.bench` (what `make bench` runs)."""

import sys

from infra.local.bench.cli import main

sys.exit(main())
