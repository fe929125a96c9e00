"""`spark-sched pools check|render|show`: every bad case gives its one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from spark_sched.cli.main import cli
from spark_sched.cli.pools import master_cores
from spark_sched.pools import parse_pools

REPO = Path(__file__).resolve().parent.parent
CONF_POOLS = REPO / "conf" / "pools.toml"
GOOD_LEAF = "[pools.etl]\n[pools.etl.alice]\n[pools.etl.bob]\n[pools.adhoc]\nweight = 2\n[pools.adhoc.carol]\n"

# (file name, content, the line's expected text after "<file>: ")
BAD_CASES = [
    (
        "mode.toml",
        '[pools.alice]\nmode = "PRIORITY"\n',
        "pool 'alice': mode = 'PRIORITY' is not valid; allowed: FAIR, FIFO",
    ),
    ("weight0.toml", "[pools.alice]\nweight = 0\n", "pool 'alice': weight = 0 is not valid; allowed: a whole number"),
    ("weightneg.toml", "[pools.alice]\nweight = -3\n", "pool 'alice': weight = -3 is not valid; allowed: a whole"),
    ("weightfloat.toml", "[pools.alice]\nweight = 1.5\n", "pool 'alice': weight = 1.5 is not valid; allowed: a whole"),
    ("weightstr.toml", '[pools.alice]\nweight = "2"\n', "pool 'alice': weight = '2' is not valid; allowed: a whole"),
    ("minshare.toml", "[pools.alice]\nminShare = -1\n", "pool 'alice': minShare = -1 is not valid; allowed: a whole"),
    ("empty.toml", '[pools.""]\n', "pool '': name = '' is not valid; allowed: a non-empty name"),
    ("blank.toml", '[pools." x"]\n', "pool ' x': name = ' x' is not valid; allowed: a non-empty name"),
    ("dup.toml", GOOD_LEAF + "[pools.adhoc.alice]\n", "pool 'etl/alice': name = 'alice' is not valid; allowed: a name"),
    (
        "default.toml",
        "[pools.default]\n[pools.default.a]\n",
        "pool 'default': name = 'default' is not valid; allowed: a parent",
    ),
    (
        "typo.toml",
        "[pools.alice]\nwieght = 2\n",
        "pool 'alice': wieght = 2 is not valid; allowed: mode, weight, minShare",
    ),
    (
        "section.toml",
        "[pool.alice]\nweight = 2\n",
        "pool = {'alice': {'weight': 2}} is not valid; allowed: a [pools] table",
    ),
    (
        "parentfifo.toml",
        '[pools.etl]\nmode = "FIFO"\n[pools.etl.a]\n',
        "pool 'etl': mode = 'FIFO' is not valid; allowed: FAIR",
    ),
    ("nopools.toml", "", "pools = '(none)' is not valid; allowed: at least one pool"),
    ("syntax.toml", "[pools.alice\n", "TOML syntax = "),
    (
        "mode.xml",
        '<allocations><pool name="a"><schedulingMode>FAIRR</schedulingMode></pool></allocations>',
        "pool 'a': mode = 'FAIRR' is not valid; allowed: FAIR, FIFO",
    ),
    (
        "weight.xml",
        '<allocations><pool name="a"><weight>abc</weight></pool></allocations>',
        "pool 'a': weight = 'abc' is not valid; allowed: a whole number",
    ),
    (
        "minshare.xml",
        '<allocations><pool name="a"><minShare>-2</minShare></pool></allocations>',
        "pool 'a': minShare = -2 is not valid; allowed: a whole number",
    ),
    (
        "nested.xml",
        '<allocations><pool name="a"><pool name="b"/></pool></allocations>',
        "pool 'a': nested <pool> = 'b' is not valid; allowed: pools directly under <allocations>",
    ),
    (
        "element.xml",
        '<allocations><pool name="a"><maxShare>3</maxShare></pool></allocations>',
        "pool 'a': <maxShare> = '3' is not valid; allowed: mode, weight, minShare",
    ),
    ("noname.xml", "<allocations><pool/></allocations>", "pool '': name = '' is not valid; allowed: a non-empty"),
    (
        "dup.xml",
        '<allocations><pool name="a"/><pool name="a"/></allocations>',
        "pool 'a': name = 'a' is not valid; allowed: a name used once",
    ),
    ("syntax.xml", "<allocations><pool name='a'></allocations>", "XML syntax = "),
]


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(("name", "content", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_check_rejects_each_bad_case_with_one_line(tmp_path: Path, name: str, content: str, expected: str) -> None:
    path = _write(tmp_path, name, content)
    result = CliRunner().invoke(cli, ["pools", "check", str(path), "--cores", "8"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert any(line.startswith(f"{path}: {expected}") for line in lines), lines
    assert result.stdout == ""
    for command in ("render", "show"):  # the other commands refuse the file the same way
        other = CliRunner().invoke(cli, ["pools", command, str(path)])
        assert other.exit_code == 2 and other.stderr == result.stderr


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write(tmp_path, "many.toml", '[pools.a]\nweight = 0\nminShare = -1\nmode = "x"\n[pools.b]\ntypo = 1\n')
    result = CliRunner().invoke(cli, ["pools", "check", str(path)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 4


def test_check_accepts_the_example_and_warns_about_min_shares(tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli, ["pools", "check", str(CONF_POOLS), "--cores", "12"])
    assert ok.exit_code == 0, ok.output
    assert "3 Spark pools: alice, bob, carol" in ok.stdout and ok.stderr == ""
    tight = _write(tmp_path, "tight.toml", "[pools.a]\nminShare = 3\n[pools.b]\nminShare = 4\n")
    warned = CliRunner().invoke(cli, ["pools", "check", str(tight), "--master", "local[2]"])
    assert warned.exit_code == 0
    assert "minShare total = 7 is more than the cluster's 2 cores" in warned.stderr


def test_show_json_gives_leaf_shares_summing_to_one() -> None:
    result = CliRunner().invoke(cli, ["pools", "show", str(CONF_POOLS), "--json"])
    assert result.exit_code == 0
    leaves = json.loads(result.stdout)["leaves"]
    assert leaves == {"alice": 0.25, "bob": 0.25, "carol": 0.5}
    assert sum(leaves.values()) == pytest.approx(1.0)
    table = CliRunner().invoke(cli, ["pools", "show", str(CONF_POOLS)])
    assert "carol" in table.stdout and "50.00%" in table.stdout


def test_render_writes_xml_that_parses_back_and_converts_xml_to_toml(tmp_path: Path) -> None:
    out = tmp_path / "fairscheduler.xml"
    result = CliRunner().invoke(cli, ["pools", "render", str(CONF_POOLS), "-o", str(out)])
    assert result.exit_code == 0, result.output
    xml = out.read_text()
    assert f"Generated by spark-sched from {CONF_POOLS}" in xml
    flat, problems = parse_pools(xml, str(out), "xml")
    assert problems == [] and [(p.name, p.weight, p.min_share) for p in flat.pools] == [
        ("alice", 1, 1),
        ("bob", 1, 1),
        ("carol", 2, 0),
    ]
    back = CliRunner().invoke(cli, ["pools", "render", str(out), "--to", "toml"])
    assert back.exit_code == 0
    tree, problems = parse_pools(back.stdout, "back.toml", "toml")
    assert problems == [] and tree.same_pools(flat)


def test_names_are_escaped_in_xml(tmp_path: Path) -> None:
    path = _write(tmp_path, "odd.toml", '[pools."a&b <c>"]\n[pools."q\\"uote\'s"]\n[pools."tab\\tname"]\n')
    result = CliRunner().invoke(cli, ["pools", "render", str(path)])
    assert result.exit_code == 2  # a tab is not printable: refused rather than mangled
    path = _write(tmp_path, "odd.toml", '[pools."a&b <c>"]\n[pools."q\\"uote\'s"]\n')
    result = CliRunner().invoke(cli, ["pools", "render", str(path)])
    assert result.exit_code == 0
    assert 'name="a&amp;b &lt;c&gt;"' in result.stdout
    tree, problems = parse_pools(result.stdout, "odd.xml", "xml")
    assert problems == [] and tree.leaf_names() == ["a&b <c>", "q\"uote's"]


def test_master_cores() -> None:
    assert master_cores("local[3]") == 3
    assert master_cores("local") == 1
    assert master_cores("local[4,2]") == 4
    assert master_cores("local-cluster[2, 3, 1024]") == 6
    assert master_cores("spark://192.0.2.1:7077") is None


def test_console_script_exits_2_with_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", '[pools.alice]\nmode = "PRIORITY"\n')
    script = Path(sys.executable).parent / "spark-sched"
    done = subprocess.run([str(script), "pools", "check", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"{path}: pool 'alice': mode = 'PRIORITY' is not valid; allowed: FAIR, FIFO",
    ]


def test_shipped_fairscheduler_xml_is_rendered_from_the_shipped_pool_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(cli, ["pools", "render", "conf/pools.toml"])
    assert result.exit_code == 0
    fresh = "spark-sched pools render conf/pools.toml -o conf/fairscheduler.xml"
    assert (REPO / "conf" / "fairscheduler.xml").read_text() == result.stdout, f"stale: run `{fresh}`"
