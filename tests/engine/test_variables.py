"""Variables: set/get against a real store, JSON, the environment override and errors."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flowtui import Variable
from flowtui.authoring import variables as variables_module
from flowtui.errors import VariableNotFound
from flowtui.store.schema import open_connection


def test_set_then_get(db: Path) -> None:
    Variable.set("key", "value", description="what it is")
    assert Variable.get("key") == "value"
    row = sqlite3.connect(db).execute("SELECT val, description FROM variables").fetchone()
    assert row == ("value", "what it is")


def test_set_overwrites_and_keeps_the_description(db: Path) -> None:
    Variable.set("key", "one", description="kept")
    Variable.set("key", 2)
    assert Variable.get("key") == "2"
    row = sqlite3.connect(db).execute("SELECT description FROM variables").fetchone()
    assert row == ("kept",)


def test_json_round_trip(db: Path) -> None:
    Variable.set("key", {"a": [1, 2]}, serialize_json=True)
    assert Variable.get("key", deserialize_json=True) == {"a": [1, 2]}
    assert Variable.get("key") == '{"a": [1, 2]}'


def test_environment_overrides_the_store(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Variable.set("key", "stored")
    monkeypatch.setenv("FLOWTUI_VAR_KEY", '{"from": "env"}')
    assert Variable.get("key") == '{"from": "env"}'
    assert Variable.get("key", deserialize_json=True) == {"from": "env"}


def test_missing_variable(db: Path) -> None:
    with pytest.raises(VariableNotFound) as info:
        Variable.get("nope")
    assert str(info.value) == (
        "variable 'nope' is not set; set it with `flowtui variables set nope VALUE` "
        "or the environment variable FLOWTUI_VAR_NOPE"
    )
    assert Variable.get("nope", default_var=None) is None
    assert Variable.get("nope", default_var={"x": 1}, deserialize_json=True) == {"x": 1}


def test_missing_when_the_store_is_new_or_absent(db: Path, tmp_path: Path) -> None:
    absent = tmp_path / "absent" / "flowtui.db"
    variables_module.configure(absent)
    assert Variable.get("key", "dflt") == "dflt"
    assert not absent.exists()
    absent.parent.mkdir()
    open_connection(absent).close()
    assert Variable.get("key", "dflt") == "dflt"


def test_delete(db: Path) -> None:
    Variable.set("key", "v")
    assert Variable.delete("key") is True
    assert Variable.delete("key") is False
    assert Variable.get("key", None) is None


def test_default_store_is_under_flowtui_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(variables_module, "_db_path", None)
    monkeypatch.setenv("FLOWTUI_HOME", str(tmp_path / "home"))
    Variable.set("where", "home")
    assert variables_module.db_path() == tmp_path / "home" / "flowtui.db"
    assert (tmp_path / "home" / "flowtui.db").exists()
    assert Variable.get("where") == "home"
