"""``dev.py`` (the README's two commands) explains a Python without venv/ensurepip instead of a traceback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def dev(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("jemput_dev_script", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    monkeypatch.setattr(module, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(module, "BIN", tmp_path / ".venv" / "bin")
    monkeypatch.setattr(module, "STAMP", tmp_path / ".venv" / ".install-stamp")
    return module


def test_missing_ensurepip_is_explained(dev, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ensurepip", None)  # import fails, as on Debian without python3-venv
    with pytest.raises(SystemExit) as stop:
        dev.install()
    assert "python3-venv" in str(stop.value.code) and "apt install" in str(stop.value.code)
    assert not dev.VENV.exists()


def test_a_failing_ensurepip_leaves_no_half_made_venv(dev, monkeypatch) -> None:
    def debian_create(self, env_dir) -> None:  # Debian's stub ensurepip: the folder exists, pip never arrives
        (Path(env_dir) / "bin").mkdir(parents=True)
        (Path(env_dir) / "bin" / "python").touch()
        raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])

    monkeypatch.setattr(venv.EnvBuilder, "create", debian_create)
    with pytest.raises(SystemExit) as stop:
        dev.install()
    message = str(stop.value.code)
    assert "python3-venv" in message and "Traceback" not in message
    assert not dev.VENV.exists()  # the next run tries again instead of using a venv without pip
