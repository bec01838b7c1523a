"""``aurelia train``: one SFT step and one GRPO step on the tiny Qwen2.5-Omni, and the student in eval.

The data is the project's own exports of two traces on the shared clip (one answered right, one
wrong: the SFT export keeps only the first). One process runs ``aurelia train sft`` on the tiny kit's
model and then ``aurelia train grpo`` from the SFT checkpoint (ms-swift imported once; this session's
process hosts its own vLLM engine and stays free of ms-swift). As soon as the SFT checkpoint is
saved, ``aurelia eval`` answers with it through vLLM in a process of its own while GRPO trains;
transformers answers the same sample here and the two must agree token for token.

Weights are compared tensor by tensor with the base: the language model moves by about the learning
rate (Adam's first step), the vision and audio encoders, the talker and token2wav not at all.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aurelia_local.core.records import TrainSummary, read_eval_rows

pytestmark = pytest.mark.engine
V0_TRACES = Path(__file__).resolve().parents[1] / "fixtures" / "v0" / "traces.jsonl"
SFT_LR, GRPO_LR = 2e-6, 1e-4  # SFT at AVRT's rate; GRPO higher so that one step shows
FROZEN = ("thinker.audio_tower.", "thinker.visual.", "talker.", "token2wav.")
TRAINED = ("thinker.model.", "thinker.lm_head.")
REWARDS = ("aurelia_format", "aurelia_accuracy", "aurelia_length", "distinct_characters")
# A reward that differs between the random model's completions: with the project's rewards alone
# (all 0 on gibberish) every advantage is 0 and GRPO's step would move nothing.
VARIED_REWARD = """
from swift.rewards import ORM, orms


class DistinctCharacters(ORM):
    def __call__(self, completions, **kwargs):
        return [len(set(c)) / 10 for c in completions]


orms["distinct_characters"] = DistinctCharacters
"""
# The two training commands in one process (ms-swift imported once); then which libraries it loaded
CHILD = """
import json, sys
from aurelia_local.app.cli import main
for argv in json.loads(sys.argv[1]):
    if main(argv):
        sys.exit(1)
print(json.dumps({"deepspeed": "deepspeed" in sys.modules, "swift": "swift" in sys.modules}))
"""


def _exports(folder: Path, clip: Path) -> tuple[Path, Path]:
    """sft.jsonl and grpo.jsonl from two traces on ``clip`` (gold B; one answers B, one A)."""
    from aurelia_local.app.export import export_grpo, export_sft

    trace = next(t for t in map(json.loads, V0_TRACES.read_text().splitlines()) if t["status"] == "ok")
    lines = []
    for sample, final in (("right", "B"), ("wrong", "A")):
        rounds = [{**r, "reasoning": {**r["reasoning"], "final_answer": final}} for r in trace["rounds"]]
        lines.append(json.dumps({**trace, "id": sample, "video_path": str(clip), "rounds": rounds}))
    (folder / "traces.jsonl").write_text("\n".join(lines) + "\n")
    sft = export_sft(folder / "traces.jsonl", folder / "sft.jsonl")
    assert (sft.written, sft.dropped_wrong) == (1, 1)
    assert export_grpo(folder / "traces.jsonl", folder / "grpo.jsonl").written == 2
    return folder / "sft.jsonl", folder / "grpo.jsonl"


def _eval_argv(checkpoint: Path, out: Path, backend: str, models_dir: Path, clip: Path) -> list[str]:
    """One sample of the Daily-Omni folder that holds ``clip``, zero-shot."""
    return ["eval", "--benchmark", "daily_omni", "--data-root", str(clip.parents[2]), "--target",
            f"path:{checkpoint}", "--arms", "zero_shot", "--limit", "1", "--backend", backend,
            "--out", str(out), "--no-progress", "--set", f"models_dir={models_dir}"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(models_dir, daily_omni_clip, tmp_path_factory):
    """Both training runs and the vLLM eval of the SFT checkpoint; their folders and the child's report."""
    tmp = tmp_path_factory.mktemp("train")
    sft_data, grpo_data = _exports(tmp, daily_omni_clip)
    (tmp / "varied.py").write_text(VARIED_REWARD)
    base = models_dir / "tiny" / "qwen2_5_omni"
    short = ["--set", "train.max_steps=1", "--set", "train.warmup_steps=0", "--set", "train.weight_decay=0"]
    sft = ["train", "sft", "--data", str(sft_data), "--base", str(base), "--out", str(tmp / "sft"),
           *short, "--set", "train.effective_batch_size=1"]  # fmt: skip
    grpo = ["train", "grpo", "--data", str(grpo_data), "--base", f"path:{tmp / 'sft' / 'checkpoint-1'}",
            "--out", str(tmp / "grpo"), *short, "--set", "train.effective_batch_size=2",
            "--set", "train.per_device_batch_size=2", "--set", f"train.learning_rate={GRPO_LR}",
            "--set", "train.grpo.num_generations=2", "--set", "train.grpo.max_completion_length=16",
            "--set", f"train.grpo.plugins=[{tmp / 'varied.py'}]",
            "--set", f"train.grpo.rewards=[{','.join(REWARDS)}]"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("AURELIA_")}
    with (tmp / "train.out").open("w") as out, (tmp / "train.err").open("w") as err:
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps([sft, grpo])], stdout=out,
                                 stderr=err, env=env)  # fmt: skip
        try:
            _evaluate_the_sft_student(tmp, child, env, models_dir, daily_omni_clip)
            assert child.wait(timeout=900) == 0, (tmp / "train.err").read_text()[-3000:]
        finally:
            if child.poll() is None:
                child.kill()
    report = json.loads((tmp / "train.out").read_text().splitlines()[-1])
    return {"tmp": tmp, "base": base, "report": report}


def _evaluate_the_sft_student(tmp: Path, child, env: dict, models_dir: Path, clip: Path) -> None:
    """Once the SFT checkpoint is saved: ``aurelia eval`` with it through vLLM in a process of its own,
    and through transformers here, while GRPO trains."""
    from aurelia_local.app.cli import main

    while not (tmp / "sft" / "summary.json").is_file():
        assert child.poll() is None, (tmp / "train.err").read_text()[-3000:]
        time.sleep(0.5)
    student = tmp / "sft" / "checkpoint-1"
    cmd = [sys.executable, "-m", "aurelia_local.app.cli",
           *_eval_argv(student, tmp / "eval_vllm", "vllm", models_dir, clip)]  # fmt: skip
    with (tmp / "eval_vllm.out").open("w") as log:
        evaluation = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            assert main(_eval_argv(student, tmp / "eval_hf", "hf", models_dir, clip)) == 0
            assert evaluation.wait(timeout=900) == 0, (tmp / "eval_vllm.out").read_text()[-3000:]
        finally:
            if evaluation.poll() is None:
                evaluation.kill()


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def _moved(before: dict, after: dict) -> dict[str, float]:
    """Largest absolute change of each tensor, for the tensors that changed."""
    assert before.keys() == after.keys()
    moved = {k: float((after[k] - before[k]).abs().max()) for k in before}
    return {k: v for k, v in moved.items() if v > 0}


def _summary(folder: Path) -> TrainSummary:
    return TrainSummary.model_validate_json((folder / "summary.json").read_text())


def test_one_sft_step_moves_the_language_model_by_the_learning_rate_and_no_encoder(trained):
    tmp = trained["tmp"]
    summary = _summary(tmp / "sft")
    assert (summary.stage, summary.samples, summary.steps) == ("sft", 1, 1)  # the wrong trace left out
    assert math.isfinite(summary.loss) and summary.loss > 0
    base, sft = _tensors(trained["base"]), _tensors(tmp / "sft" / "checkpoint-1")
    moved = _moved(base, sft)
    assert moved and all(k.startswith(TRAINED) for k in moved), sorted(moved)
    assert not [k for k in base if k.startswith(FROZEN) and k in moved]
    assert [k for k in base if k.startswith("thinker.model.layers.") and k not in moved] == []
    # Adam's first step moves each weight by at most the learning rate (no warmup, no weight decay)
    assert max(moved.values()) == pytest.approx(SFT_LR, rel=0.05)


def test_one_grpo_step_from_the_sft_checkpoint_moves_only_the_language_model(trained):
    tmp = trained["tmp"]
    summary = _summary(tmp / "grpo")
    assert (summary.stage, summary.steps) == ("grpo", 1)
    assert math.isfinite(summary.loss)
    assert set(summary.rewards) == {"FormatReward", "AccuracyReward", "LengthReward", "DistinctCharacters"}
    assert summary.rewards["DistinctCharacters"] > 0 and summary.rewards["FormatReward"] == 0  # gibberish
    sft, grpo = _tensors(tmp / "sft" / "checkpoint-1"), _tensors(tmp / "grpo" / "checkpoint-1")
    moved = _moved(sft, grpo)
    assert moved and all(k.startswith(TRAINED) for k in moved), sorted(moved)
    assert max(moved.values()) == pytest.approx(GRPO_LR, rel=0.05)
    log = (tmp / "grpo" / "aurelia.log").read_text()
    from aurelia_local.app.train import media_token_ids

    ids = media_token_ids(trained["base"])
    assert len(ids) >= 5 and f"rollouts never sample the media placeholder ids {ids}" in log


def test_training_runs_record_what_produced_them_and_never_load_deepspeed(trained):
    tmp = trained["tmp"]
    assert trained["report"] == {"deepspeed": False, "swift": True}
    for stage, data in (("sft", "sft.jsonl"), ("grpo", "grpo.jsonl")):
        run = json.loads((tmp / stage / "run.json").read_text())
        assert run["command"] == "train" and run["identity"]["stage"] == stage
        assert run["identity"]["data_sha256"] == hashlib.sha256((tmp / data).read_bytes()).hexdigest()
        base = Path(run["identity"]["base"]["folder"])
        config = hashlib.sha256((base / "config.json").read_bytes()).hexdigest()
        assert run["identity"]["base"]["config_sha256"] == config
        assert run["versions"]["ms-swift"] == "4.6.0" and "deepspeed" not in run["versions"]
    sft = json.loads((tmp / "sft" / "run.json").read_text())["identity"]["train"]
    # AVRT's recipe, but for what the test shortens
    assert (sft["learning_rate"], sft["lr_scheduler"], sft["freeze_encoders"]) == (SFT_LR, "cosine", True)
    grpo = json.loads((tmp / "grpo" / "run.json").read_text())["identity"]["train"]["grpo"]
    assert (grpo["epsilon"], grpo["beta"], grpo["temperature"]) == (0.2, 0.01, 1.0)
    command = (tmp / "grpo" / "swift_command.sh").read_text()
    assert " swift rlhf " in command and "--rlhf_type grpo" in command and "--use_vllm false" in command
    rows = [json.loads(x) for x in (tmp / "grpo" / "train_data.jsonl").read_text().splitlines()]
    assert rows[0]["solution"] == "B" and rows[0]["videos"] and "audios" not in rows[0]


def test_the_student_reloads_in_transformers_and_answers_like_vllm_in_eval(trained):
    import transformers

    from aurelia_local.zoo.cards import path_card

    for stage in ("sft", "grpo"):  # both students load as the full model, as eval's engines load them
        checkpoint = trained["tmp"] / stage / "last-checkpoint"
        assert path_card(f"path:{checkpoint}").kind == "qwen2_5_omni"
        model = transformers.Qwen2_5OmniForConditionalGeneration.from_pretrained(
            checkpoint, enable_audio_output=False, local_files_only=True
        )
        state = model.thinker.state_dict()
        tensors = _tensors(checkpoint)
        saved = {k.removeprefix("thinker."): v for k, v in tensors.items() if k.startswith("thinker.")}
        assert saved.keys() <= state.keys() and all(state[k].equal(v) for k, v in saved.items())
    (hf,) = read_eval_rows(trained["tmp"] / "eval_hf" / "samples.jsonl")
    (vllm,) = read_eval_rows(trained["tmp"] / "eval_vllm" / "samples.jsonl")
    assert hf.status == vllm.status == "ok" and hf.media_tokens["audio"] == 750
    assert hf.output_tokens == vllm.output_tokens and len(hf.output_tokens) > 0
