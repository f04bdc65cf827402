#!/usr/bin/env python3
"""Set everything up and run Jemput, with nothing but Python 3.11+.

python3 dev.py demo   # venv + install + migrate + demo data + serve on http://127.0.0.1:8000
python3 dev.py test   # venv + install + the whole test suite (extra args go to pytest)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".install-stamp"
NO_VENV = (
    "dev.py cannot create the virtual environment (.venv): this Python lacks its 'venv'/'ensurepip' modules.\n"
    "On Debian or Ubuntu install them with:  sudo apt install python3-venv  (or python3.X-venv for your version),\n"
    "then run this command again."
)


def run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True)


def install() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on any python3 to say so
        sys.exit("Jemput needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        create_venv()
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", ".[test]")
    STAMP.write_text(wanted)


def create_venv() -> None:
    """Create .venv with pip, or exit with what to install (Debian ships venv/ensurepip separately)."""
    try:
        import ensurepip  # noqa: F401  (Debian's python3 without python3-venv lacks it)
        import venv
    except ImportError:
        sys.exit(NO_VENV)
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)  # a half-made .venv (no pip) would be taken as ready next time
        sys.exit(f"{NO_VENV}\n({type(exc).__name__}: {exc})")


def demo() -> None:
    install()
    run(BIN / "jemput", "migrate")
    run(BIN / "jemput", "seed-demo")
    os.execv(str(BIN / "jemput"), [str(BIN / "jemput"), "serve", "--host", "127.0.0.1", "--port", "8000"])


def test(args: list[str]) -> None:
    install()
    result = subprocess.run([str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT)
    sys.exit(result.returncode)


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "demo":
        demo()
    elif command == "test":
        test(sys.argv[2:])
    elif command == "install":
        install()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
