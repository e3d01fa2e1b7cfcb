"""The embedded default: everything `make dev` runs on one machine.

The Lambda asset root goes on the path, as in Lambda (and as app.py does for CDK), so
`python -m local.dev` finds `gateway` and `handlers` without further set-up.
"""

import sys
from pathlib import Path

_ASSET_ROOT = str(Path(__file__).resolve().parents[1] / "lambdas")
if _ASSET_ROOT not in sys.path:
    sys.path.insert(0, _ASSET_ROOT)
