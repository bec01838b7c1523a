"""The cluster recipes in deploy/: valid scripts and manifests whose commands the CLI accepts."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from aurelia_local.app.cli import build_parser

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# what the scripts' variables stand for when their command lines are parsed
VALUES = {
    '"$SOURCE"': "data/manifest.jsonl",
    '"$OUT"': "runs/big",
    '"${TMPDIR:-/tmp}/aurelia-checkpoints"': "/tmp/c",
}


def _aurelia_lines(script: Path) -> list[list[str]]:
    found = []
    for line in script.read_text().splitlines():
        line = line.strip()
        if line.startswith("#") or not re.match(r"^(srun\s+)?aurelia\s", line):
            continue
        for name, value in VALUES.items():
            line = line.replace(name, value)
        found.append(shlex.split(line.removeprefix("srun").strip())[1:])
    return found


def _accepted(argv: list[str]):
    args = build_parser().parse_args(argv)  # exits (a test failure) on an unknown flag or choice
    with pytest.raises(SystemExit) as done:  # and the command's own --help works
        build_parser().parse_args([argv[0], "--help"])
    assert done.value.code == 0
    return args


def test_the_slurm_recipe_runs_each_shard_then_merges_after_the_array(capsys):
    scripts = sorted((DEPLOY / "slurm").iterdir())
    assert {p.name for p in scripts} == {"distill.sbatch", "merge.sbatch", "submit.sh"}
    for script in scripts:
        subprocess.run(["bash", "-n", str(script)], check=True)  # shell syntax
    (distill,) = _aurelia_lines(DEPLOY / "slurm" / "distill.sbatch")
    args = _accepted(distill)
    assert (args.command, args.shard, str(args.checkpoint_dir)) == ("distill", "auto", "/tmp/c")
    assert [a[0] for a in _aurelia_lines(DEPLOY / "slurm" / "merge.sbatch")] == ["status", "merge"]
    for argv in _aurelia_lines(DEPLOY / "slurm" / "merge.sbatch"):
        _accepted(argv)
    submit = (DEPLOY / "slurm" / "submit.sh").read_text()
    assert "--array=" in submit and "afterany:" in submit  # the merge runs whatever the tasks' exit codes
    capsys.readouterr()


def test_the_kubernetes_recipe_is_an_indexed_job_that_passes_its_shard_count(capsys):
    (job,) = yaml.safe_load_all((DEPLOY / "kubernetes" / "distill-job.yaml").read_text())
    spec = job["spec"]
    assert (job["kind"], spec["completionMode"]) == ("Job", "Indexed")
    (container,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["AURELIA_SHARD_COUNT"] == str(spec["completions"])  # Kubernetes does not pass it itself
    assert container["command"][0] == "aurelia"
    args = _accepted(container["command"][1:])
    assert (args.command, args.shard) == ("distill", "auto")
    (merge,) = yaml.safe_load_all((DEPLOY / "kubernetes" / "merge-job.yaml").read_text())
    (container,) = merge["spec"]["template"]["spec"]["containers"]
    merged = _accepted(container["command"][1:])
    assert (merged.command, str(merged.out)) == ("merge", str(args.out))  # the same run folder
    capsys.readouterr()
