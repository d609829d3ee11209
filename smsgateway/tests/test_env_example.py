""".env.example as ``docker run --env-file`` and compose read it: one KEY=VALUE per line, taken
literally (no quote stripping, no inline comments), ``#`` lines ignored. Loaded so, it must give
the settings the defaults give: every listed value is the documented default."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from smsgateway.tests.test_settings_docs import _variables as settings_variables
from tests.live import run_python

ROOT = Path(__file__).resolve().parent.parent.parent
KEY_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

# Settings whose value differs by design when the file is loaded: none. (A variable whose empty
# value would change a setting is listed commented out instead.)
_DUMP = """
import json, importlib, sys
module = importlib.import_module(sys.argv[1])
out = {k: repr(getattr(module, k)) for k in dir(module) if k.isupper()}
print(json.dumps(out))
"""


def docker_env_file(text: str) -> dict[str, str]:
    """What ``docker run --env-file`` sets: leading whitespace dropped, ``#`` lines and blank
    lines skipped, the rest split at the first ``=`` and kept as written."""
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"line {number}: no '=' (docker would copy {key!r} from the calling shell)"
        assert set(key) <= KEY_CHARS, f"line {number}: {key!r} is not a variable name"
        env[key] = value
    return env


def _example() -> dict[str, str]:
    return docker_env_file(ROOT.joinpath(".env.example").read_text())


def _settings(extra: dict[str, str]) -> dict[str, str]:
    # Nothing of this process's configuration (the test settings export some) leaks in.
    known = settings_variables() | set(_example())
    env = {k: v for k, v in os.environ.items() if k not in known}
    env.update(extra)
    env["PYTHONHASHSEED"] = "0"  # sets print in one order
    out = run_python("-c", _DUMP, "smsgateway.settings.local", env=env)
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def test_every_line_is_a_comment_or_a_plain_assignment() -> None:
    assert len(_example()) > 50


def test_no_value_holds_a_comment_quotes_or_interpolation() -> None:
    bad = {k: v for k, v in _example().items() if "#" in v or v != v.strip() or v[:1] in ("'", '"') or "$" in v}
    assert bad == {}


def test_loading_it_gives_the_default_settings() -> None:
    defaults = _settings({})
    loaded = _settings(_example())
    assert {k: (defaults.get(k), v) for k, v in loaded.items() if defaults.get(k) != v} == {}


def _readme_defaults() -> dict[str, str]:
    """``| `A` / `B` | `1` / `2` | … |`` rows of the README's table whose default column is just
    the backticked values, one per variable."""
    found: dict[str, str] = {}
    for line in ROOT.joinpath("README.md").read_text().splitlines():
        match = re.match(r"^\| `([A-Z0-9_]+)`((?: / `[A-Z0-9_]+`)*) \| ([^|]*) \|", line)
        if not match:
            continue
        names = [match.group(1), *re.findall(r"`([A-Z0-9_]+)`", match.group(2))]
        defaults = re.findall(r"`([^`]*)`", match.group(3))
        if len(defaults) == len(names) and " / ".join(f"`{d}`" for d in defaults) == match.group(3).strip():
            found.update(zip(names, defaults, strict=True))
    return found


def test_every_value_it_sets_is_the_readme_s_documented_default() -> None:
    documented = _readme_defaults()
    assert len(documented) > 50
    example = _example()
    assert {k: (v, documented[k]) for k, v in example.items() if v and k in documented and documented[k] != v} == {}
