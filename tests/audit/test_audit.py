"""The audit's own machinery (tests/audit): it sees what a run gave and can fail."""

import argparse
import json

from spikeflow.cli import build_parser
from tests.audit import cli_flags, report


def _toy() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="toy")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("kind", choices=("a", "b"))
    run.add_argument("-n", "--count", type=int, default=1)
    run.add_argument("--fast", action="store_true")
    return parser


def test_items_name_sub_commands_flags_and_positional_choices():
    items = cli_flags.parser_items(_toy())
    assert items == [
        "toy run",
        "toy run kind=a",
        "toy run kind=b",
        "toy run --count",
        "toy run --fast",
    ]
    real = cli_flags.parser_items(build_parser())
    assert len(real) == len(set(real))
    for item in (
        "spikeflow simulate model=microcircuit",
        "spikeflow plot raster --encoder",
        "spikeflow train --num-steps",
        "spikeflow --version",
        "spikeflow sweep",
    ):
        assert item in real
    assert not any(item.endswith("--help") for item in real)


def test_recorder_notes_only_the_flags_given_not_the_defaults():
    parser = cli_flags.instrument(_toy())
    given: list[str] = []
    cli_flags.CURRENT.append(given)
    try:
        args = parser.parse_args(["run", "b", "-n", "3"])
    finally:
        cli_flags.CURRENT.pop()
    assert (args.kind, args.count, args.fast) == ("b", 3, False)
    assert given == ["toy run", "toy run kind=b", "toy run --count"]
    parser.parse_args(["run", "a", "--fast"])  # no invocation open: nothing noted, no error
    assert given == ["toy run", "toy run kind=b", "toy run --count"]


def test_flag_audit_lists_what_no_successful_call_gave(tmp_path):
    everything = cli_flags.parser_items(build_parser())
    (tmp_path / "flags-1.jsonl").write_text(json.dumps({"items": everything[1:]}) + "\n")
    (tmp_path / "flags-2.jsonl").write_text("")
    missing, total = report.audit_flags(tmp_path)
    assert (missing, total) == ([everything[0]], len(everything))


def test_callable_audit_fails_when_no_body_ran_and_passes_when_all_did(tmp_path):
    file = str(report.SRC / "encode" / "rate.py")
    items = [i for i in report.callables(["spikeflow.encode"]) if i.file.name == "rate.py"]
    assert [i.name for i in items] == ["spikeflow.encode.rate"]
    lo, hi = report._body_range(items[0].node)
    statements = list(range(lo, hi + 1))
    cov = tmp_path / "coverage.json"
    for executed, expected in (([], False), (statements[-1:], True)):
        data = {"executed_lines": executed, "missing_lines": statements}
        cov.write_text(json.dumps({"files": {file: data}}))
        assert report.measure(items[0], report.coverage_lines(cov)) is expected
