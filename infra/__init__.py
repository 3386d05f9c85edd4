"""CDK app for telegent-sms: one stack composed of constructs in infra/constructs/.

Names shared with the function (environment variables, table keys, handler) come from
functions/sender/constants.py, imported as `sender.constants` exactly as the function and its
tests import it. functions/ is made importable here so that `cdk synth` (which runs
`python -m infra.app` from the repo root) needs no PYTHONPATH of its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO_ROOT / "functions"

if str(FUNCTIONS_DIR) not in sys.path:
    sys.path.append(str(FUNCTIONS_DIR))
