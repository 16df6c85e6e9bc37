"""What Python 3.10 and Windows lack must not be needed to import the package.

Each check runs in a fresh interpreter where the missing module is blocked
(`sys.modules[name] = None` makes `import name` raise ImportError).
"""

from __future__ import annotations

import subprocess
import sys

import pytest


def imports_without(blocked: str, modules: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys; sys.modules[{blocked!r}] = None\nimport {modules}\nprint('ok')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


@pytest.mark.parametrize(
    ("blocked", "modules"),
    [
        ("tomllib", "docsearch.tuning.run, docsearch.training.train"),  # Python 3.10
        ("fcntl", "docsearch, docsearch.cli, indexer, indexer.layout"),  # Windows
    ],
)
def test_the_package_imports_without(blocked: str, modules: str) -> None:
    result = imports_without(blocked, modules)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_check_itself_fails_when_a_blocked_module_is_needed() -> None:
    assert imports_without("json", "json").returncode != 0
