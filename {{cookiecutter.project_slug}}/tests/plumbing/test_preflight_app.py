"""The check make run runs before the development server:

    python -m {{ cookiecutter.project_slug }}.preflight --app

The app builds from its settings, else one line and exit status 2, never a
traceback."""

import runpy
import sys
from pathlib import Path

import pytest

from {{ cookiecutter.project_slug }}.core.settings import (
    ENV_PREFIX,
    SETTINGS_FILE_VARIABLE,
)
from {{ cookiecutter.project_slug }}.preflight import main


def test_good_settings_pass_silently(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--app"]) == 0
    assert capsys.readouterr() == ("", "")


def test_a_bad_setting_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}_LOG_LEVEL", "NOPE")

    status = main(["--app"])

    assert status == 2
    assert capsys.readouterr().err == (
        f"error: setting LOG_LEVEL = 'NOPE' (environment: {ENV_PREFIX}_LOG_LEVEL):"
        " input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'\n"
    )


def test_a_malformed_settings_file_is_one_line_naming_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    settings = tmp_path / "broken.yml"
    settings.write_text("MAX_CONTENT_LENGTH: [1, 2\n")
    monkeypatch.setenv(SETTINGS_FILE_VARIABLE, str(settings))

    status = main(["--app"])

    error = capsys.readouterr().err
    assert status == 2
    assert error.startswith(f"error: settings file {settings} is not valid YAML")
    assert "Traceback" not in error


def test_it_runs_as_a_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = "{{ cookiecutter.project_slug }}.preflight"
    monkeypatch.setattr(sys, "argv", [module, "--app"])
    monkeypatch.delitem(sys.modules, module)  # run afresh, as `python -m` does

    with pytest.raises(SystemExit) as exited:
        runpy.run_module(module, run_name="__main__")

    assert exited.value.code == 0
