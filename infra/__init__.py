"""CDK app for telegent-sms: one stack composed of constructs in infra/constructs/.

Names shared with the function (environment variables, table keys, handler) come from the
function packages under functions/, imported exactly as the function and its tests import them:
`pip install -e .` installs those packages beside `infra`, so `cdk synth` (which runs
`python -m infra.app` from the repo root) needs no PYTHONPATH of its own.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS_DIR = REPO_ROOT / "functions"
