"""chexmini sets OpenBLAS's thread timeout before NumPy loads (core/foundation/blas_env.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from core.foundation.blas_env import THREAD_TIMEOUT, apply_blas_defaults
from tests.helpers import REPO

ROOT = REPO

# Records the value of OPENBLAS_THREAD_TIMEOUT at the moment NumPy is first imported.
PROBE = """
import importlib.abc, os, sys
seen = []
class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not seen:
            seen.append(os.environ.get("OPENBLAS_THREAD_TIMEOUT"))
        return None
sys.meta_path.insert(0, Probe())
import {module}
import numpy
print(seen[0] if seen else "numpy-not-imported")
"""


def _value_at_numpy_import(module: str, env_value: str | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if env_value is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT,
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("module", ["core", "core.training.train", "chexmini_cli.main",
                                    "chexmini_tui.__main__"])
def test_timeout_is_in_the_environment_before_numpy_loads(module):
    assert _value_at_numpy_import(module) == THREAD_TIMEOUT


@pytest.mark.slow
def test_a_users_own_setting_is_kept():
    assert _value_at_numpy_import("chexmini_cli.main", env_value="25") == "25"


def test_apply_touches_only_the_timeout():
    env = {"OPENBLAS_CORETYPE": "Haswell"}
    apply_blas_defaults(env)
    assert env == {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_THREAD_TIMEOUT": THREAD_TIMEOUT}
