"""Installing gives exactly one onnxruntime: the base dependencies have none, the ``cpu`` and ``gpu``
extras one each, and ``make`` picks the flavour (``nvidia-smi``) and removes the other wheel first."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

REPO = Path(__file__).resolve().parents[2]
ORT_WHEELS = ("onnxruntime", "onnxruntime-gpu")


def names(requirements: list[str]) -> set[str]:
    """Distribution names of PEP 508 requirement strings, lowercased (extras and versions dropped)."""
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requirements}


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_base_dependencies_have_no_onnxruntime(project):
    assert not names(project["dependencies"]) & set(ORT_WHEELS)


def test_cpu_and_gpu_extras_each_bring_one_onnxruntime(project):
    extras = project["optional-dependencies"]
    assert names(extras["cpu"]) & set(ORT_WHEELS) == {"onnxruntime"}
    assert names(extras["gpu"]) & set(ORT_WHEELS) == {"onnxruntime-gpu"}
    for name, requirements in extras.items():  # no other extra pulls either wheel in behind the choice
        if name not in ("cpu", "gpu"):
            assert not names(requirements) & set(ORT_WHEELS), name


@pytest.mark.parametrize("flavour, other", [("gpu", "onnxruntime"), ("cpu", "onnxruntime-gpu")])
def test_make_installs_one_flavour_after_removing_the_other(flavour, other, tmp_path):
    for target in ("install", "install-test"):
        plan = subprocess.run(["make", "-n", "-B", target, f"ORT={flavour}", f"VENV={tmp_path / 'venv'}"],
                              cwd=REPO, capture_output=True, text=True, check=True).stdout
        uninstall = plan.index(f"uninstall -q -y {other} ")
        install = plan.index(f"install -q -e '.[{flavour}")
        assert uninstall < install, plan
