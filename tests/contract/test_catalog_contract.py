"""Contract tests over every entry of every registry: model kinds, zoo cards, scorers, benchmarks, arms,
protocols.

Each entry is checked for what the code that reads it relies on: dotted paths resolve (without
importing a heavy library), cards fit a family that has an adapter, files and roles exist, keys are
snake_case and match the file or module they name.
"""

import inspect
import re
import subprocess
import sys
from importlib import resources
from typing import get_args

import pytest

from aurelia_local.core import catalog
from aurelia_local.core.config import ROLES, LoopConfig
from aurelia_local.core.registry import KEY_PATTERN, load
from aurelia_local.zoo.cards import ModelCard, adapter_class, zoo_cards

REGISTRIES = {
    "families": catalog.FAMILIES, "scorers": catalog.SCORERS, "benchmarks": catalog.BENCHMARKS,
    "arms": catalog.ARMS, "protocols": catalog.PROTOCOLS, "models": zoo_cards(None),
}  # fmt: skip
EVERY_ENTRY = [pytest.param(name, e, id=f"{name}/{e.key}") for name, reg in REGISTRIES.items() for e in reg]
TOPOLOGIES = get_args(LoopConfig.model_fields["generator"].annotation)


def _dotted_paths() -> list[str]:
    return [
        *(f.adapter for f in catalog.FAMILIES if f.adapter),
        *(s.class_path for s in catalog.SCORERS),
        *(b.loader for b in catalog.BENCHMARKS),
    ]


@pytest.mark.parametrize(("registry", "entry"), EVERY_ENTRY)
def test_every_entry_keeps_its_contract(registry, entry):
    assert re.fullmatch(KEY_PATTERN, entry.key) and entry.summary.strip() and "\n" not in entry.summary
    {
        "families": _family, "scorers": _scorer, "benchmarks": _benchmark, "arms": _arm, "models": _card,
        "protocols": _protocol,
    }[registry](entry)  # fmt: skip


def _family(family: catalog.ModelFamily) -> None:
    assert family.required_files or family.checkpoint_file  # every kind can be checked on disk
    assert all(group and all(group) for group in family.required_files)
    if family.omni:
        assert family.model_class and family.audio_token and family.video_token
    if family.adapter:
        assert family.omni and callable(getattr(load(family.adapter), "answer", None))


def _scorer(scorer: catalog.ScorerEntry) -> None:
    assert scorer.roles and set(scorer.roles) <= set(ROLES)
    cls = load(scorer.class_path)
    assert inspect.isclass(cls) and callable(getattr(cls, "score", None))
    # the key is the name of the module that implements it
    assert scorer.class_path.partition(":")[0].rsplit(".", 1)[-1] == scorer.key
    parts = [catalog.SCORERS.get(p) for p in scorer.parts]
    assert all(not p.parts for p in parts)
    if parts:
        assert set(scorer.roles) == {r for p in parts for r in p.roles}
        assert scorer.needs_engine == any(p.needs_engine for p in parts)
    assert scorer.needs_engine == ("judge" in scorer.roles)


def _benchmark(benchmark: catalog.BenchmarkEntry) -> None:
    loader = load(benchmark.loader)
    assert callable(loader) and list(inspect.signature(loader).parameters) == ["root", "data"]
    assert benchmark.loader.endswith(f":load_{benchmark.key}") and benchmark.layout.strip()


def _arm(arm: catalog.ArmEntry) -> None:
    assert arm.r_star is None or arm.r_star in TOPOLOGIES
    # an arm without media is the text-only floor: no r*, no instruction, no vote
    assert arm.video or arm.audio or not (arm.r_star or arm.instruction or arm.vote)
    assert not arm.vote or arm.instruction == "cot"  # voting draws reason first (self-consistency)


def _protocol(protocol: catalog.ProtocolEntry) -> None:
    from aurelia_local.core.config import MediaConfig
    from aurelia_local.core.protocols import protocol_prompt

    assert protocol.benchmark is None or protocol.benchmark in catalog.BENCHMARKS.keys()
    assert (protocol.benchmark is None) == (protocol.source is None)  # an official one says where it is from
    MediaConfig.model_validate(protocol.media)  # every media override is a valid media setting
    if protocol.prompt is not None:
        text = protocol_prompt(protocol, "Q?", ["a", "b"])
        assert "Q?" in text and "['A. a', 'B. b']" in text
    assert (protocol.extraction == "project") == (protocol.prompt is None)  # a script's prompt, its reading


def _card(card: ModelCard) -> None:
    stored = resources.files("aurelia_local.zoo").joinpath("cards", f"{card.key}.yaml")
    assert stored.is_file() and card.origin == "package"  # the key is the file name
    family = catalog.FAMILIES.get(card.kind)
    assert family.adapter and set(card.modalities) <= set(family.inputs)
    assert callable(getattr(adapter_class(card), "answer", None))
    assert card.tiny or (card.hub_id and "/" in card.hub_id and card.min_gpu_gib > 0)


def test_keys_are_unique_and_every_entry_is_frozen():
    for registry in REGISTRIES.values():
        assert len(set(registry.keys())) == len(registry)
        assert all(e.model_config.get("frozen") and e.model_config.get("extra") == "forbid" for e in registry)


def test_the_default_arms_and_the_topologies_agree():
    assert set(catalog.default_arms()) <= set(catalog.ARMS.keys())
    assert {a.r_star for a in catalog.ARMS if a.r_star} == set(TOPOLOGIES)  # every topology has its arm


def test_resolving_every_dotted_path_imports_no_heavy_library():
    heavy = ("torch", "vllm", "transformers", "open_clip", "whisper")
    code = (
        "import sys\nfrom aurelia_local.core.registry import load\n"
        f"for path in {_dotted_paths()!r}:\n    load(path)\n"
        f"print([m for m in {heavy!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
