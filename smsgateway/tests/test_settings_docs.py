"""Every environment variable the settings read is documented: in the README's table and in
.env.example (docs/ARCHITECTURE.md, "Where does X go")."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
READ = re.compile(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]+)"')


def _variables() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "smsgateway" / "settings").glob("*.py"):
        found |= set(READ.findall(path.read_text()))
    return found


def test_settings_read_some_variables() -> None:
    assert {"DATABASE_URL", "REDIS_URL", "SMS_PROCESSING_LEASE_SECONDS"} <= _variables()


def test_every_variable_is_in_the_readme_table() -> None:
    readme = ROOT.joinpath("README.md").read_text()
    assert sorted(v for v in _variables() if f"`{v}`" not in readme) == []


def test_every_variable_is_in_env_example() -> None:
    example = ROOT.joinpath(".env.example").read_text()
    # Texts whose empty value means something else are listed commented out, with their note.
    listed = set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert sorted(_variables() - listed) == []
