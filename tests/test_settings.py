"""Settings file, keyword overrides and the Spark conf they stand for."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched import Settings, SettingsError, load_settings
from spark_sched.cli.main import cli
from spark_sched.config import MEASURE_SOURCES
from spark_sched.session import spark_conf
from spark_sched.topology import load_topology

REPO = Path(__file__).resolve().parent.parent


def test_shipped_settings_file_documents_the_defaults() -> None:
    shipped = load_settings(REPO / "conf" / "spark-sched.toml")
    defaults = Settings()
    for f in dataclasses.fields(Settings):
        if f.name in ("source", "spark_conf"):
            continue
        assert getattr(shipped, f.name) == getattr(defaults, f.name), f.name
    assert shipped.source.endswith("spark-sched.toml")


def test_unknown_key_names_file_field_and_choices(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[app]\nmaster = "local[2]"\nmastr = "x"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(bad)
    message = str(err.value)
    assert str(bad) in message and "app.mastr" in message and "app.master" in message


def test_unknown_section_and_bad_choice(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text('[measure]\nsource = "influx"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(bad)
    assert "measure.source = 'influx'" in str(err.value)
    assert all(choice in str(err.value) for choice in MEASURE_SOURCES)
    bad.write_text("[apps]\nname = 'x'\n")
    with pytest.raises(SettingsError, match=r"\[app\]"):
        load_settings(bad)


def test_toml_syntax_error_is_one_settings_error(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text("[app\n")
    with pytest.raises(SettingsError, match="valid TOML"):
        load_settings(bad)


def test_override_of_unknown_field_is_refused() -> None:
    with pytest.raises(SettingsError, match="mastr"):
        Settings().replace(mastr="local[1]")


def test_spark_conf_sets_what_later_parts_need(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path, spark_conf={"spark.sql.shuffle.partitions": "3"})
    conf = spark_conf(settings, master_given=True)
    assert conf["spark.eventLog.enabled"] == "true"
    assert conf["spark.eventLog.dir"] == (tmp_path / "events").resolve().as_uri()
    assert conf["spark.ui.killEnabled"] == "false"
    assert conf["spark.driver.bindAddress"] == "127.0.0.1"
    assert conf["spark.app.name"] == "spark-sched"
    assert conf["spark.master"] == "local[2]"
    assert conf["spark.sql.shuffle.partitions"] == "3"
    assert conf["spark.authenticate"] == "false"  # no cluster runs from this state dir
    assert "spark.authenticate.secret" not in conf


def test_cli_reports_settings_error_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "s.toml"
    bad.write_text("[paths]\nstate_dir = 3\n")
    result = CliRunner().invoke(cli, ["submit", "quickstart", "--settings", str(bad)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("spark-sched: error:")
    assert str(bad) in lines[0] and "state_dir = 3" in lines[0]


def test_topology_deals_hosts_into_racks(tmp_path: Path) -> None:
    topo = load_topology(REPO / "conf" / "topology.toml")
    hosts = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
    assert [topo.rack_of(h, i, 3) for i, h in enumerate(hosts)] == ["r1", "r1", "r2"]
    bad = tmp_path / "t.toml"
    bad.write_text('[links]\nhost_rate = "fast"\n')
    with pytest.raises(SettingsError, match="links.host_rate = 'fast'"):
        load_topology(bad)
