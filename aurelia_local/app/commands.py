"""The handlers of the ``aurelia`` subcommands: each reads its arguments, runs, prints, returns a status.

Heavy modules are imported inside the handler that needs them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from aurelia_local.app.logs import user_stdout


def _out(text: str) -> None:
    """Print a result line to the user's stdout (the terminal, even while libraries log to a file)."""
    stream = user_stdout()
    stream.write(text + "\n")
    stream.flush()


def _settings(args: argparse.Namespace):
    from aurelia_local.core.config import load_settings

    return load_settings(args.profile, args.config, args.overrides)


def cmd_doctor(args: argparse.Namespace) -> int:
    """Check the installation and the active profile's model folders."""
    from aurelia_local.app import doctor

    settings = _settings(args)
    checks = doctor.run_checks(settings, probe_torch=not args.no_torch)
    _out(doctor.as_json(checks, settings) if args.json else doctor.render(checks, settings))
    return 0 if all(c.ok or not c.required for c in checks) else 1


def cmd_config_show(args: argparse.Namespace) -> int:
    """Print the resolved configuration and its hash."""
    from aurelia_local.core.config import dump_settings

    _out(dump_settings(_settings(args)).rstrip())
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    """List the profile's models and whether each folder is usable."""
    from aurelia_local.core.model_files import check_models

    settings = _settings(args)
    for role, path, missing in check_models(settings):
        state = "ok" if not missing else "missing " + ", ".join(missing)
        _out(f"{role:<11} {settings.models[role].kind:<15} {path}  [{state}]")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """Print one registry: zoo models (with the user's cards), model families, benchmarks, scorers or arms."""
    from aurelia_local.app.listing import as_json, entries, render

    items = entries(args.what, _settings(args) if args.what == "models" else None)
    _out(as_json(items) if args.json else render(args.what, items))
    return 0


def cmd_models_build_tiny(args: argparse.Namespace) -> int:
    """Build the tiny random-weight kit."""
    from aurelia_local.engines.tiny.kit import build_kit

    directory = args.dir or _settings(args).models_dir
    total = 0

    def report(result) -> None:
        nonlocal total
        total += result.size_bytes
        verb = "built" if result.built else "up to date"
        _out(
            f"{result.name:<15} {verb:<10} {result.size_bytes / 1e6:6.1f} MB "
            f"{result.seconds:6.1f} s  {result.path}"
        )

    build_kit(Path(directory).expanduser(), seed=args.seed, force=args.force, only=args.only, on_done=report)
    _out(f"tiny kit in {Path(directory).expanduser()}: {total / 1e6:.1f} MB")
    return 0


def cmd_models_download(args: argparse.Namespace) -> int:
    """Download a profile's weights (needs network)."""
    from aurelia_local.app.download import download

    download(_settings(args), args.role or None, _out)
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    """Answer one question about one video with an omni model."""
    from aurelia_local.app.generate import render, run_generate

    settings = _settings(args)
    record = run_generate(settings, args.video, args.question, args.audio, args.backend, args.role)
    _out(render(record))
    _write_record(record, args.out)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    """Score captions against one sample's media."""
    from aurelia_local.app.score import render, run_score

    settings = _settings(args)
    record = run_score(settings, args.video, args.caption, args.audio, args.transcript)
    _out(render(record))
    _write_record(record, args.out)
    return 0


def cmd_reason(args: argparse.Namespace) -> int:
    """Run the reasoning loop on one sample."""
    from aurelia_local.app.reason import render, run_reason

    settings = _settings(args)
    record = run_reason(settings, args.video, args.question, args.audio, args.choice or None, args.answer)
    _out(render(record))
    _write_record(record, args.out)
    return 0


def cmd_distill(args: argparse.Namespace) -> int:
    """Run the loop over a dataset, resumably (one shard of it with ``--shard``)."""
    from aurelia_local.app.distill import TRACES, distill
    from aurelia_local.core.shards import parse_shard

    overrides = list(args.overrides) + ([f"loop.concurrency={args.concurrency}"] if args.concurrency else [])
    overrides += [f"data.checkpoint_dir={args.checkpoint_dir}"] if args.checkpoint_dir else []
    settings = _settings(argparse.Namespace(**{**vars(args), "overrides": overrides}))
    shard = parse_shard(args.shard) if args.shard else None
    summary = distill(settings, args.source, args.out, args.limit, progress=not args.no_progress,
                      retry_errors=args.retry_errors, new_run=args.new_run, shard=shard,
                      ray=_ray_plan(args))  # fmt: skip
    out = Path(summary.out)
    _out(
        f"{summary.ok} ok, {summary.errors} errors of {summary.samples} samples; "
        f"mean rounds {summary.mean_rounds}; {summary.this_run['samples_per_s']} samples/s this run"
    )
    _out(f"traces in {out / TRACES}" + (f" (shard {shard}; join the shards with aurelia merge {args.out})"
                                        if shard else ""))  # fmt: skip
    _export(out, args.export, args.keep_wrong)
    return 1 if summary.errors else 0


def _ray_plan(args: argparse.Namespace):
    """The Ray pool ``--ray``, ``--workers`` and ``--worker-gpus`` ask for, or None."""
    if not args.ray:
        return None
    from aurelia_local.app.ray_pool import RayPlan

    return RayPlan(args.ray, args.workers, args.worker_gpus)


def _export(out: Path, kinds: list[str] | None, keep_wrong: bool) -> None:
    """Write the training exports ``kinds`` of the traces in ``out``."""
    from aurelia_local.app.distill import TRACES
    from aurelia_local.app.export import export_grpo, export_sft

    for kind in kinds or []:
        if kind == "sft":
            done = export_sft(out / TRACES, out / "sft.jsonl", keep_wrong=keep_wrong)
            dropped = f"; {done.dropped_wrong} with a wrong answer left out" if done.dropped_wrong else ""
        else:
            done = export_grpo(out / TRACES, out / "grpo.jsonl")
            dropped = f"; {done.without_gold} without a gold answer left out" if done.without_gold else ""
        _out(f"{done.written} {kind} records in {done.path}{dropped} (summary beside it)")


def cmd_train(args: argparse.Namespace) -> int:
    """Train a student with ms-swift on an export of distilled traces (SFT or GRPO)."""
    from aurelia_local.app.train import render, run_train

    summary = run_train(_settings(args), args.stage, args.data, args.base, args.out, args.gpus, args.new_run)
    for line in render(summary):
        _out(line)
    return 0


def cmd_pilot(args: argparse.Namespace) -> int:
    """Run the loop on a sample of a dataset; print the figures a full run would show."""
    from aurelia_local.app import pilot

    figures = pilot.pilot(_settings(args), args.source, args.out, args.limit, progress=not args.no_progress)
    _out(json.dumps(figures, indent=2) if args.json else pilot.render(figures))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Show where a distill run and each of its shards stand."""
    from aurelia_local.app import status
    from aurelia_local.core.errors import AureliaError

    rows = status.run_status(args.out)
    if not rows:
        raise AureliaError(f"{args.out} holds no distill or eval run (no run.json, no shard folders)")
    _out(status.as_json(rows) if args.json else status.render(rows))
    return 0


def cmd_merge(args: argparse.Namespace) -> int:
    """Join the shards of a distill or eval run into its folder."""
    from aurelia_local.app.merge import merge_run
    from aurelia_local.core.errors import AureliaError
    from aurelia_local.core.records import DistillSummary

    merged = merge_run(args.out, partial=args.partial)
    s = merged.summary
    done = merged.shards - len(merged.missing) - len(merged.unfinished)
    if isinstance(s, DistillSummary):
        what = f"{s.samples} samples, {s.ok} ok, {s.filtered} filtered, {s.errors} errors -> traces.jsonl"
    else:
        what = f"{s.samples} samples, {len(s.targets)} targets, {len(s.arms)} arms -> report.md"
    _out(f"merged {done} finished of {merged.shards} shards into {args.out}: {what}")
    for state, shards in (("never started", merged.missing), ("did not finish", merged.unfinished)):
        if shards:
            _out(f"shards that {state}: {', '.join(map(str, shards))} (merged with --partial; merge again "
                 "when they have run)")  # fmt: skip
    if args.export and not isinstance(s, DistillSummary):
        raise AureliaError("--export takes a distill run's traces; this is an eval run")
    _export(Path(args.out), args.export, args.keep_wrong)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Evaluate target models on a benchmark, with and without r*."""
    from aurelia_local.app.eval.runner import run_eval
    from aurelia_local.core.shards import parse_shard
    from aurelia_local.zoo.cards import Target, card_hash, load_card

    if args.protocol:
        args.overrides = [*(args.overrides or []), f"eval.protocol={args.protocol}"]
    settings = _settings(args)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    cards = {card.key: card for card in (load_card(key, settings) for key in args.target)}
    if args.dry_run:
        return _eval_dry_run(args, settings, cards, arms)
    targets = {k: Target(c, settings, args.backend) for k, c in cards.items()}
    shard = parse_shard(args.shard) if args.shard else None
    results = run_eval(settings, args.benchmark, args.data_root, targets, arms, args.out, args.limit,
                       args.reasoning, progress=not args.no_progress, backend=args.backend,
                       new_run=args.new_run, cards={k: card_hash(c) for k, c in cards.items()},
                       shard=shard, ray=_ray_plan(args))  # fmt: skip
    for key, summary in results.summary.items():
        accs = ", ".join(
            f"{arm} {100 * (s['accuracy'] or 0):.1f}% (n={s['n']})" for arm, s in summary["arms"].items()
        )
        _out(f"{key}: {accs}")
        for arm, why in results.skipped.get(key, {}).items():
            _out(f"{key}: {arm} skipped ({why})")
    _out(f"report in {Path(results.out) / 'report.md'}")
    return 0


def _eval_dry_run(args: argparse.Namespace, settings, cards: dict, arms: list[str]) -> int:
    from aurelia_local.app.eval.dry_run import REQUESTS, dry_run
    from aurelia_local.zoo.cards import adapter_class

    targets = {k: adapter_class(c)(c, settings, args.backend, load=False) for k, c in cards.items()}
    means = dry_run(
        settings, args.benchmark, args.data_root, targets, arms, args.out, args.limit, args.reasoning
    )
    _out(f"protocol {settings.eval.protocol}")
    for key, by_arm in means.items():
        for arm, m in by_arm.items():
            if "errors" in m:
                _out(f"{key} {arm}: {m['errors']} request(s) refused: {m['error']}")
                continue
            tokens = f"video {m['video']:.0f}, audio {m['audio']:.0f}"
            tokens += f", image {m['image']:.0f}" if m.get("image") else ""
            _out(f"{key} {arm}: {m['prompt']:.0f} prompt tokens ({tokens}; mean over samples)")
    _out(f"requests in {Path(args.out) / REQUESTS}")
    return 0


def _write_record(record, out: Path | None) -> None:
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        data = record.model_dump(mode="json") if hasattr(record, "model_dump") else record
        out.write_text(json.dumps(data, indent=2, ensure_ascii=False))
        _out(f"record written to {out}")


def cmd_view(args: argparse.Namespace) -> int:
    """Write the static page of a distill or eval run folder."""
    from aurelia_local.app.view.site import build_site

    site = build_site(args.run, args.out, media=not args.no_media, progress=not args.no_progress)
    errors = f", {site.errors} with errors" if site.errors else ""
    size = f"{site.size_bytes / 1e6:.1f} MB"
    _out(f"view: {site.kind} run, {site.samples} samples{errors} -> {site.path} ({size})")
    for problem in site.media_errors[:5]:
        _out(f"view: media not written: {problem}")
    return 0
