"""`python3 -m intel_assets ...`: the bootstrap, using nothing but the standard library.

A new user has only Python 3.11+. This entry point creates the project's virtual environment
(`.venv` beside `pyproject.toml`), installs the project into it in editable mode with its
development tools (again whenever `pyproject.toml` changes), and then runs the `intel-assets`
command inside that environment with the same arguments. Inside the environment it is just the
`intel-assets` command.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
VENV_DIR = PROJECT_ROOT / ".venv"
INSTALL_STAMP = VENV_DIR / ".intel-assets-installed"


def _running_in_project_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV_DIR.resolve()


def _pyproject_digest() -> str:
    return hashlib.sha256((PROJECT_ROOT / "pyproject.toml").read_bytes()).hexdigest()


def _ensure_venv() -> Path:
    python = VENV_DIR / "bin" / "python"
    if not python.exists():
        print(f"intel-assets: creating the virtual environment in {VENV_DIR}", file=sys.stderr)
        venv.create(VENV_DIR, with_pip=True, clear=True)
    digest = _pyproject_digest()
    if not INSTALL_STAMP.exists() or INSTALL_STAMP.read_text().strip() != digest:
        print(
            "intel-assets: installing the project and its tools (first run takes a minute)",
            file=sys.stderr,
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--upgrade",
                "pip",
            ],
            check=True,
        )
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-e",
                f"{PROJECT_ROOT}[dev]",
            ],
            check=True,
        )
        INSTALL_STAMP.write_text(digest)
    return python


def main() -> None:
    """Run the CLI inside the project's virtual environment, preparing it first if needed."""
    if _running_in_project_venv():
        from intel_assets.cli import main as cli_main

        sys.exit(cli_main())
    python = _ensure_venv()
    os.execv(str(python), [str(python), "-m", "intel_assets", *sys.argv[1:]])


if __name__ == "__main__":
    main()
