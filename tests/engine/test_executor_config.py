"""`executor` and `[dask]` in flowtui.toml: what they give, and a one-line error naming the key
(and what to do) for each bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowtui.config import Settings, load_settings
from flowtui.executor_config import DaskSettings, ExecutorConfigError


def _load(tmp_path: Path, text: str) -> Settings:
    (tmp_path / "flowtui.toml").write_text(text)
    return load_settings(tmp_path, tmp_path)


def test_the_local_executor_is_the_default(tmp_path: Path) -> None:
    settings = _load(tmp_path, "")
    assert (settings.executor, settings.dask, settings.config_warnings) == (
        "local",
        DaskSettings(),
        (),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[dask]\naddress = "tcp://10.0.0.5:8786"', DaskSettings(address="tcp://10.0.0.5:8786")),
        ("[dask]\nlocal_cluster = { workers = 2 }", DaskSettings(workers=2)),
    ],
)
def test_the_dask_executor_takes_an_address_or_a_local_cluster(
    tmp_path: Path, text: str, expected: DaskSettings
) -> None:
    settings = _load(tmp_path, f'executor = "dask"\n{text}\n')
    assert (settings.executor, settings.dask, settings.config_warnings) == ("dask", expected, ())


def test_a_dask_section_without_the_dask_executor_is_warned_about(tmp_path: Path) -> None:
    settings = _load(tmp_path, "[dask]\nlocal_cluster = { workers = 2 }\n")
    assert settings.executor == "local"
    assert settings.config_warnings == (
        f'{tmp_path / "flowtui.toml"}: [dask] is ignored: executor is "local"',
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'executor = "celery"', 'executor must be "local" or "dask", not \'celery\'', id="name"
        ),
        pytest.param(
            'executor = "dask"',
            'executor = "dask" needs [dask] address = "tcp://host:8786" or [dask] '
            "local_cluster = { workers = 2 }",
            id="no section",
        ),
        pytest.param('executor = "dask"\ndask = 3', "dask must be a table", id="not a table"),
        pytest.param(
            'executor = "dask"\n[dask]\naddress = "tcp://h:1"\nworkers = 2',
            "dask.workers is not a setting; [dask] takes address or local_cluster",
            id="unknown key",
        ),
        pytest.param(
            'executor = "dask"\n[dask]\naddress = "tcp://h:1"\nlocal_cluster = { workers = 2 }',
            "[dask] needs exactly one of address and local_cluster",
            id="both",
        ),
        pytest.param(
            'executor = "dask"\n[dask]\naddress = "10.0.0.5"',
            "dask.address must be a scheduler address like \"tcp://host:8786\", not '10.0.0.5'",
            id="address",
        ),
        pytest.param(
            'executor = "dask"\n[dask]\nlocal_cluster = { workers = 0 }',
            "dask.local_cluster.workers must be a whole number > 0, not 0",
            id="workers",
        ),
        pytest.param(
            'executor = "dask"\n[dask]\nlocal_cluster = { threads = 2 }',
            "dask.local_cluster must be { workers = N }",
            id="cluster keys",
        ),
    ],
)
def test_a_bad_executor_setting_is_one_line_naming_it(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ExecutorConfigError) as raised:
        _load(tmp_path, text + "\n")
    error = str(raised.value)
    assert error.startswith(f"{tmp_path / 'flowtui.toml'}: ")
    assert message in error
    assert "\n" not in error
