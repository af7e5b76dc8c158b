"""Environment for the test suite, loaded as a pytest plugin (`-p` in pyproject.toml) so it is
set before pytest-django reads the settings.

Background tasks run inside the request that enqueues them, so a test sees their outcome at
once; enishi/core/tests/test_background.py runs the real database queue and worker.
"""

import os

os.environ.setdefault("ENISHI_TASKS", "immediate")
