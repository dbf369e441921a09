"""Build the website with every notebook executed, warnings as errors; fail on any problem.

jupyter-cache keys cached notebooks on their code cells only, so a change to the helper library
or to the pinned environment would silently reuse stale outputs. This script stamps the cache
with a hash of `lib/` and `requirements.txt` and clears it when they change; it then also
clears Sphinx's own state, which would otherwise keep serving pages whose source did not change
(with the old outputs, or with the traceback of a failed build).

Jupyter Book executes notebooks one after another. On a 2-core machine this script first
executes the chapters that are not cached yet two at a time, exactly as MyST-NB would (same
reader, same executor, same cache), so that the build itself only reads the cache. A notebook
that fails here is simply left uncached: the build then runs it again and reports the failure.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ProcessPoolExecutor
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment_hash() -> str:
    """Hash of everything outside the notebooks that their outputs depend on."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "lib" / "optbook").rglob("*.py")) + [ROOT / "requirements.txt", ROOT / "scripts" / "site_fixes.py"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _read_notebook(path: Path):
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    return read_myst_markdown_notebook(path.read_text(), config=MdParserConfig(), add_source_map=True, path=path)


def _execute(path: Path, timeout: int) -> tuple[Path, object, float, str | None]:
    from jupyter_cache.executors.utils import single_nb_execution

    notebook = _read_notebook(path)
    result = single_nb_execution(notebook, cwd=str(path.parent), allow_errors=False, timeout=timeout, meta_override=True)
    return path, notebook, result.time, None if result.err is None else result.exc_string


def prime_cache(build_dir: Path, workers: int = 2) -> None:
    """Execute the uncached chapter notebooks ``workers`` at a time into MyST-NB's cache."""
    import yaml
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(build_dir / ".jupyter_cache"))
    timeout = yaml.safe_load((ROOT / "_config.yml").read_text())["execute"]["timeout"]
    todo = []
    for path in sorted((ROOT / "chapters").glob("*.md")):
        try:
            cache.match_cache_notebook(_read_notebook(path))
        except KeyError:
            todo.append(path)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for path, notebook, seconds, error in pool.map(_execute, todo, [timeout] * len(todo)):
            if error is None:
                cache.cache_notebook_bundle(CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
                                            check_validity=False, overwrite=True)
            print(f"[prime-cache] {path.name}: {'%.1f s' % seconds if error is None else 'FAILED (the build will report it)'}")


def build(build_dir: Path = ROOT / "_build") -> Path:
    """Build the book into ``build_dir``/html and return that folder; raise on any failure."""
    stamp, succeeded = build_dir / ".environment-hash", build_dir / ".last-build-succeeded"
    current = environment_hash()
    library_changed = not stamp.exists() or stamp.read_text() != current
    if library_changed:
        shutil.rmtree(build_dir / ".jupyter_cache", ignore_errors=True)
    if library_changed or not succeeded.exists():
        # Sphinx re-reads only pages whose source changed: after new outputs or a failed build
        # (whose pages may show a traceback) every page must be read again
        for stale in (".doctrees", "html", "jupyter_execute"):
            shutil.rmtree(build_dir / stale, ignore_errors=True)
    succeeded.unlink(missing_ok=True)
    build_dir.mkdir(exist_ok=True)
    stamp.write_text(current)
    os.environ.update({"OPTBOOK_NO_PROGRESS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
    prime_cache(build_dir)
    env = dict(os.environ)
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
    succeeded.touch()
    return build_dir / "html"


if __name__ == "__main__":
    print(f"built {build()}")
