"""Build the website with every notebook executed, warnings as errors; fail on any problem.

jupyter-cache keys cached notebooks on their code cells only, so a change to the helper library
or to the pinned environment would silently reuse stale outputs. This script stamps the cache
with a hash of `lib/` and `requirements.txt` and clears it when they change.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment_hash() -> str:
    """Hash of everything outside the notebooks that their outputs depend on."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "lib" / "optbook").rglob("*.py")) + [ROOT / "requirements.txt"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build(build_dir: Path = ROOT / "_build") -> Path:
    """Build the book into ``build_dir``/html and return that folder; raise on any failure."""
    stamp = build_dir / ".environment-hash"
    current = environment_hash()
    if not stamp.exists() or stamp.read_text() != current:
        shutil.rmtree(build_dir / ".jupyter_cache", ignore_errors=True)
    shutil.rmtree(build_dir / "html" / "reports", ignore_errors=True)
    env = {**os.environ, "OPTBOOK_NO_PROGRESS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT),
               "--path-output", str(build_dir.parent), "-W", "--keep-going"]
    if build_dir.name != "_build":
        raise ValueError(f"build_dir must be a folder named _build, got {build_dir}")
    result = subprocess.run(command, env=env)
    reports = build_dir / "html" / "reports"
    if result.returncode != 0 or reports.exists():
        logs = sorted(reports.glob("*.log")) if reports.exists() else []
        for log in logs:
            print(f"---- {log.name}\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise SystemExit(f"book build failed (exit {result.returncode}; {len(logs)} execution report(s))")
    build_dir.mkdir(exist_ok=True)
    stamp.write_text(current)
    return build_dir / "html"


if __name__ == "__main__":
    print(f"built {build()}")
