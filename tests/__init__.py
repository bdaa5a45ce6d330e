"""Test suite of the matching engine (shared fixtures in ``tests/conftest.py``).

Imported before the conftest and so before LightGBM and scikit-learn load OpenMP: idle OpenMP threads
sleep instead of spinning. On a machine with fewer free cores than threads (CI runners, a shared
2-core box) spinning threads starve each other and a 150-tree LambdaRank fit took 15 s instead of 1 s.
Set ``OMP_WAIT_POLICY`` yourself to override.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
