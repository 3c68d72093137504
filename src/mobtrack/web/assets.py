"""Copy the front-end libraries installed by `npm ci` into static/vendor/, where the pages load them.

Run by scripts/install after `npm ci` (`python -m mobtrack.web.assets`). Only the built, minified files
the pages use are copied; nothing third-party is committed (static/vendor/ is git-ignored) and nothing
is fetched from a CDN at run time. Exits 1 with a clear message when node_modules is missing.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # the repository (package.json, node_modules/)
VENDOR = Path(__file__).parent / "static" / "vendor"

# file in node_modules -> name under static/vendor (what the templates reference)
FILES = {
    "uplot/dist/uPlot.iife.min.js": "uPlot.iife.min.js",
    "uplot/dist/uPlot.min.css": "uPlot.min.css",
    "uplot/LICENSE": "uPlot.LICENSE.txt",
    # The API reference at /api/v1/docs (started by static/api-docs.js: the CSP allows no inline script)
    "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui.css": "swagger-ui/swagger-ui.css",
    "swagger-ui-dist/LICENSE": "swagger-ui/LICENSE.txt",
    "swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt": "swagger-ui/swagger-ui-bundle.js.LICENSE.txt",
}


def copy_assets(node_modules: Path | None = None, target: Path = VENDOR) -> list[Path]:
    if node_modules is None:
        # An editable install finds the repository above the package; otherwise run it from the repository.
        node_modules = ROOT / "node_modules" if (ROOT / "node_modules").is_dir() else Path.cwd() / "node_modules"
    missing = [name for name in FILES if not (node_modules / name).is_file()]
    if missing:
        raise FileNotFoundError(f"not in {node_modules}: {', '.join(missing)}; run `npm ci` at the repository root "
                                "(scripts/install does it)")
    copied = []
    for source, name in FILES.items():
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        copied.append(Path(shutil.copyfile(node_modules / source, target / name)))
    return copied


def main() -> int:
    try:
        copied = copy_assets()
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in copied:
        print(f"copied {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
