"""The default bake passes its own tests (its pytest, as `make test` runs it
but without coverage, which doubles their time) on its Python, in the
session's uv virtualenv: the fast tier's proof that what most users bake
works. They run in the background from the tier's first test on (see
conftest.py), and this test, collected last, reads their result. The full
suite also runs them with coverage, under tox, on a fresh bake
(test_tox_precommit.py)."""

from __future__ import annotations

import re
import subprocess

from contexts import python_of


def test_default_bake_passes_its_own_tests(
    default_bake_tests: subprocess.Popen[str],
) -> None:
    output, _ = default_bake_tests.communicate(timeout=300)

    assert default_bake_tests.returncode == 0, output
    assert f"Python {python_of('default')}." in output  # the Python asked for
    # Only passes: no failure, error, skip or warning; pytest adds "(0:01:05)"
    # after a minute.
    passed = r"^=+ \d+ passed in [\d.]+s(?: \(\d+:\d\d:\d\d\))? =+$"
    assert re.search(passed, output, re.MULTILINE)
