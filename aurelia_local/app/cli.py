"""The ``aurelia`` console script: subcommands, kebab-case flags, lazy imports, logging set up once.

Light subcommands (``config``, ``models list``, ``doctor``) never import torch; heavy modules are
imported inside the handler that needs them.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aurelia_local.app.commands import (
    cmd_config_show,
    cmd_distill,
    cmd_doctor,
    cmd_eval,
    cmd_generate,
    cmd_list,
    cmd_merge,
    cmd_models_build_tiny,
    cmd_models_download,
    cmd_models_list,
    cmd_pilot,
    cmd_reason,
    cmd_score,
    cmd_status,
    cmd_train,
    cmd_view,
)  # fmt: skip
from aurelia_local.app.listing import LISTS
from aurelia_local.app.logs import quiet_logs, user_log_path, user_stderr
from aurelia_local.core.catalog import ARMS, BENCHMARKS, PROTOCOLS, default_arms
from aurelia_local.core.errors import AureliaError


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "configuration (precedence: profile < --config < AURELIA_* env < --set)"
    )
    group.add_argument("--profile", help="smoke (tiny kit, default), default or large; env AURELIA_PROFILE")
    group.add_argument("--config", type=Path, help="a YAML file of overrides; env AURELIA_CONFIG")
    group.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override one key, e.g. --set loop.tau=7 (repeatable)")  # fmt: skip
    parser.add_argument("-v", "--verbose", action="store_true", help="show library logs")


def _media_command(sub, name: str, help_text: str, func) -> argparse.ArgumentParser:
    """A subcommand about one video: the common flags, VIDEO, --audio and --out."""
    p = sub.add_parser(name, help=help_text)
    _common(p)
    p.add_argument("video", type=Path)
    p.add_argument("--audio", type=Path, help="a separate audio file (default: the video's own track)")
    p.add_argument("--out", type=Path, help="write the full record as JSON")
    p.set_defaults(func=func)
    return p


def _arm_list(text: str) -> str:
    """``--arms``: comma-separated keys of the arm registry (returned normalised)."""
    arms = [a.strip() for a in text.split(",") if a.strip()]
    bad = [a for a in arms if a not in ARMS]
    if bad or not arms:
        raise argparse.ArgumentTypeError(
            f"unknown arm(s) {', '.join(bad) or repr(text)}; choose from {', '.join(ARMS.keys())}"
        )
    return ",".join(arms)


NEW_RUN_HELP = "when --out holds a run of another identity, start a new run in a folder beside it"


def _ray_options(p: argparse.ArgumentParser, what: str = "") -> None:
    p.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help=f"run the loop{what} in a pool of Ray actors: on this machine, or on the Ray cluster "
                   "at ADDRESS (needs scripts/setup.sh <cpu|cuda> ray)")  # fmt: skip
    p.add_argument("--workers", type=int, default=2, help="--ray: actors in the pool (default: %(default)s)")
    p.add_argument("--worker-gpus", type=float, default=0.0,
                   help="--ray: GPUs per actor (its engines' share; default: %(default)s)")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``aurelia`` command."""
    parser = argparse.ArgumentParser(
        prog="aurelia", description="Local test-time reasoning distillation for AV-LLMs."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("doctor", help="check the installation and the profile's models")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable report")
    p.add_argument("--no-torch", action="store_true", help="skip the torch/torchvision import check")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser(
        "list", help="list a registry: zoo models, model families, benchmarks, scorers, arms, protocols"
    )
    _common(p)
    p.add_argument("what", choices=LISTS)
    p.add_argument("--json", action="store_true", help="every field of every entry, as JSON")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("config", help="show the resolved configuration")
    _common(p)
    p.set_defaults(func=cmd_config_show)

    models = sub.add_parser("models", help="list, build or download models").add_subparsers(
        dest="models_command", required=True, metavar="ACTION"
    )
    p = models.add_parser("list", help="the profile's models and whether they are present")
    _common(p)
    p.set_defaults(func=cmd_models_list)
    p = models.add_parser("build-tiny", help="build the tiny random-weight kit (offline, seconds)")
    _common(p)
    p.add_argument("dir", nargs="?", type=Path, help="target folder (default: the models_dir setting)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="rebuild even when up to date")
    p.add_argument("--only", action="append", metavar="NAME", help="build only this model (repeatable)")
    p.set_defaults(func=cmd_models_build_tiny)
    p = models.add_parser("download", help="fetch a profile's weights (NEEDS NETWORK)")
    _common(p)
    p.add_argument("--role", action="append", help="only this role (repeatable)")
    p.set_defaults(func=cmd_models_download)

    p = _media_command(sub, "generate", "answer a question about a video with an omni model", cmd_generate)
    p.add_argument("--question", required=True)
    p.add_argument("--backend", choices=["vllm", "hf"], default="vllm")
    p.add_argument("--role", default="generator", help="which profile model answers (default: generator)")

    p = _media_command(sub, "score", "rate captions against a video's frames and audio (1-10)", cmd_score)
    p.add_argument("--caption", action="append", required=True, help="a caption to score (repeatable)")
    p.add_argument("--transcript", action="store_true", help="also transcribe the speech with Whisper")

    p = _media_command(sub, "reason", "run the reasoning loop on one video and question", cmd_reason)
    p.add_argument("--question", required=True)
    p.add_argument("--choice", action="append", help="a multiple-choice option, in order (repeatable)")
    p.add_argument("--answer", help="the gold answer (option letter), for the leakage check")

    p = sub.add_parser("distill", help="run the loop over a dataset (JSONL manifest or Daily-Omni folder)")
    _common(p)
    p.add_argument("source", type=Path, help="a JSONL manifest, or a folder with Daily-Omni's qa.json")
    p.add_argument("--out", type=Path, required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--limit", type=int, help="at most this many samples")
    p.add_argument("--concurrency", type=int, help="samples in flight (default: loop.concurrency)")
    p.add_argument("--export", choices=["sft", "grpo"], action="append",
                   help="also write sft.jsonl (right answers only) or grpo.jsonl (prompts with gold answers) "
                   "for training; repeatable")  # fmt: skip
    p.add_argument(
        "--keep-wrong", action="store_true", help="--export sft: keep traces whose answer is wrong"
    )
    p.add_argument("--retry-errors", action="store_true", help="run again the samples that failed before")
    p.add_argument("--new-run", action="store_true", help=NEW_RUN_HELP)
    p.add_argument("--checkpoint-dir", type=Path,
                   help="keep the checkpoints of samples in flight here (node-local scratch) when OUT is on "
                   "a network filesystem (data.checkpoint_dir)")  # fmt: skip
    p.add_argument("--shard", metavar="I/N|auto",
                   help="run shard I (from 0) of N into OUT/shard-IIII-of-NNNN; auto: the index from Slurm "
                   "(SLURM_ARRAY_TASK_*), Kubernetes (JOB_COMPLETION_INDEX, AURELIA_SHARD_COUNT) or "
                   "RANK/WORLD_SIZE; join the shards with aurelia merge OUT")  # fmt: skip
    _ray_options(p)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_distill)

    p = sub.add_parser("eval", help="evaluate target models with and without r* on a benchmark")
    _common(p)
    p.add_argument("--benchmark", required=True, choices=BENCHMARKS.keys(),
                   help="its folder layout: aurelia list benchmarks")  # fmt: skip
    p.add_argument(
        "--data-root", type=Path, required=True, help="the benchmark folder (or the manifest file)"
    )
    p.add_argument(
        "--target",
        action="append",
        required=True,
        help="a zoo key, e.g. qwen2_5_omni_7b, or path:DIR for a checkpoint folder such as a trained student "
        "(repeatable)",
    )
    p.add_argument("--arms", type=_arm_list, default=",".join(default_arms()),
                   help=f"comma-separated, of {', '.join(ARMS.keys())} (default: %(default)s)")  # fmt: skip
    p.add_argument("--backend", choices=["vllm", "hf"], default="vllm", help="how target models run")
    p.add_argument("--protocol", choices=PROTOCOLS.keys(),
                   help="how targets are asked and read: a benchmark's official script, to reproduce its "
                   "published numbers (aurelia list protocols; default: eval.protocol)")  # fmt: skip
    p.add_argument("--reasoning", type=Path, help="reuse r* from a distill run's traces.jsonl")
    p.add_argument("--limit", type=int)
    p.add_argument("--out", type=Path, required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--new-run", action="store_true", help=NEW_RUN_HELP)
    p.add_argument("--shard", metavar="I/N|auto", help="evaluate shard I (from 0) of N of the samples into "
                   "OUT/shard-IIII-of-NNNN (auto: from the scheduler, as for distill); aurelia merge OUT "
                   "joins them")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="write OUT/requests.jsonl: what each target would see, with token counts; "
                   "loads no weights")  # fmt: skip
    _ray_options(p, " (the loop that writes r*)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train a student on distilled traces with ms-swift: SFT, then GRPO")
    _common(p)
    p.add_argument("stage", choices=["sft", "grpo"],
                   help="sft: the cold start on sft.jsonl; grpo: reinforcement on grpo.jsonl with this "
                   "project's rewards")  # fmt: skip
    p.add_argument("--data", type=Path, required=True, help="an export of aurelia distill (--export ...)")
    p.add_argument("--base", required=True,
                   help="the model to start from: a zoo key (qwen2_5_omni_7b), path:DIR or a folder, e.g. "
                   "the SFT run's checkpoint for GRPO")  # fmt: skip
    p.add_argument("--out", type=Path, required=True,
                   help="output folder: checkpoints, run.json, summary.json (rerun to resume)")  # fmt: skip
    p.add_argument("--gpus", type=int,
                   help="GPUs, one process each (default: every visible one; 0: CPU)")  # fmt: skip
    p.add_argument("--new-run", action="store_true", help=NEW_RUN_HELP)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("view", help="write a run folder's page: an offline static site (open index.html)")
    p.add_argument("run", type=Path, help="the --out folder of aurelia distill or aurelia eval")
    p.add_argument("--out", type=Path, help="the site's folder (default: RUN/view)")
    p.add_argument("--no-media", action="store_true", help="no thumbnails or audio clips (faster)")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("-v", "--verbose", action="store_true", help="show library logs")
    p.set_defaults(func=cmd_view)

    p = sub.add_parser("pilot", help="the loop on a sample of a dataset, and what the whole run would cost")
    _common(p)
    p.add_argument("source", type=Path, help="a JSONL manifest, or a folder with Daily-Omni's qa.json")
    p.add_argument("--out", type=Path, required=True, help="the pilot's run folder (resumable)")
    p.add_argument(
        "--limit", type=int, default=50, help="samples drawn from the source (default: %(default)s)"
    )
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_pilot)

    p = sub.add_parser("merge", help="join the shards of a distill or eval run (OUT/shard-*) into OUT")
    p.add_argument("out", type=Path, help="the --out folder the shards ran under")
    p.add_argument("--partial", action="store_true", help="merge even if some shards have not run")
    p.add_argument(
        "--export",
        choices=["sft", "grpo"],
        action="append",
        help="also write OUT/sft.jsonl or OUT/grpo.jsonl from the merged traces; repeatable",
    )
    p.add_argument(
        "--keep-wrong", action="store_true", help="--export sft: keep traces whose answer is wrong"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="show library logs")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("status", help="where a distill or eval run and each of its shards stand")
    p.add_argument("out", type=Path, help="the --out folder of aurelia distill or aurelia eval")
    p.add_argument("--json", action="store_true", help="machine-readable")
    p.add_argument("-v", "--verbose", action="store_true", help="show library logs")
    p.set_defaults(func=cmd_status)
    return parser


# no log file: they import no library
_LIGHT_COMMANDS = {"config", "doctor", "list", "models list", "view", "merge", "status"}
_FOLDER_OUT = {"distill", "eval", "pilot", "train"}  # --out is a folder: the log is OUT/aurelia.log


def _setup_logging(args: argparse.Namespace, until_exit: bool = False):
    """Return the log context of one command (see app/logs.py): where libraries' output goes.

    A command with an output folder logs to ``OUT/aurelia.log`` (appended on resume), one with an
    output file to that file with the suffix ``.log``, others to the user log folder; light commands
    and ``--verbose`` keep everything on the terminal. ``until_exit``: this command is the process.
    """
    name = " ".join(n for n in (args.command, getattr(args, "models_command", None)) if n)
    out = getattr(args, "out", None)
    append = True
    if name in _LIGHT_COMMANDS:
        path = None
    elif out is not None and args.command in _FOLDER_OUT:
        path = Path(out) / _shard_folder(args) / "aurelia.log"
    elif out is not None:
        path, append = Path(out).with_suffix(".log"), False
        if path == Path(out):
            path = path.with_name(path.name + ".log")
    else:
        path = user_log_path(name.replace(" ", "-"))
    return quiet_logs(path, args.verbose, append, until_exit)


def _shard_folder(args: argparse.Namespace) -> str:
    """A shard's own folder for its log (shards on many nodes never append to one file), else ``""``."""
    from aurelia_local.core.shards import parse_shard

    try:
        return parse_shard(args.shard).folder if getattr(args, "shard", None) else ""
    except AureliaError:
        return ""  # the command itself reports the bad --shard


def main(argv: list[str] | None = None) -> int:
    """Run the ``aurelia`` command; return its exit status."""
    args = build_parser().parse_args(argv)
    with _setup_logging(args, until_exit=argv is None) as log:  # argv None: the console script
        if args.command != "models" or args.models_command != "download":
            from aurelia_local.core.offline import enforce_offline

            enforce_offline()
        try:
            return args.func(args)
        except AureliaError as exc:
            if log:
                logging.getLogger("aurelia").error("%s", exc)
            user_stderr().write(f"aurelia: error: {exc}\n")
            return 2
        except KeyboardInterrupt:
            user_stderr().write("aurelia: interrupted\n")
            return 130
        finally:
            user_stderr().flush()


if __name__ == "__main__":
    sys.exit(main())
