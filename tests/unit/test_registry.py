"""The registry mechanism (frozen tables of frozen entries, lazy dotted paths) and the code that reads it."""

import argparse
import json
from types import SimpleNamespace

import pytest
from pydantic import ValidationError

from aurelia_local.core.catalog import ARMS, FAMILIES, SCORERS, ArmEntry, default_arms
from aurelia_local.core.config import ModelRef, load_settings
from aurelia_local.core.errors import AureliaError, ConfigError
from aurelia_local.core.registry import Entry, Registry, load


class Thing(Entry):
    size: int = 1


def test_an_unknown_key_is_a_config_error_that_lists_the_keys():
    things = Registry("thing", [Thing(key="small", summary="s"), Thing(key="large", summary="l", size=9)])
    with pytest.raises(ConfigError, match=r"unknown thing 'huge'; choose from small, large"):
        things.get("huge")
    assert things.get("large").size == 9 and things.keys() == ("small", "large")
    assert [t.key for t in things] == ["small", "large"] and "small" in things and len(things) == 2
    with pytest.raises(ValueError, match="choose from small, large"):
        things.check("huge")


def test_entries_and_registries_are_frozen():
    thing = Thing(key="small", summary="s")
    with pytest.raises(ValidationError):
        thing.size = 2
    with pytest.raises(ValidationError):
        Thing(key="small", summary="s", colour="red")  # unknown fields are errors
    things = Registry("thing", [thing])
    with pytest.raises(AttributeError, match="frozen"):
        things.kind = "other"
    with pytest.raises(TypeError):
        things._entries["x"] = thing  # the table is a read-only view
    with pytest.raises(ValidationError):
        ARMS.get("cot").video = False


@pytest.mark.parametrize("key", ["Small", "two words", "kebab-case", "_lead", "trail_", "9lives", ""])
def test_keys_are_snake_case(key):
    with pytest.raises(ValidationError):
        Thing(key=key, summary="s")


def test_summary_is_one_line_and_keys_are_unique():
    with pytest.raises(ValidationError):
        Thing(key="a", summary="two\nlines")
    with pytest.raises(ConfigError, match="duplicate key 'a'"):
        Registry("thing", [Thing(key="a", summary="x"), Thing(key="a", summary="y")])


def test_merged_replaces_in_place_and_appends():
    base = Registry("thing", [Thing(key="a", summary="x"), Thing(key="b", summary="y")])
    merged = base.merged([Thing(key="a", summary="new", size=3), Thing(key="c", summary="z")])
    assert merged.keys() == ("a", "b", "c") and merged.get("a").size == 3
    assert base.get("a").summary == "x"  # the original is unchanged


def test_load_resolves_dotted_paths_lazily_and_names_bad_ones():
    assert load("aurelia_local.core.registry:Registry") is Registry
    assert load("aurelia_local.core.catalog:FAMILIES.get") == FAMILIES.get
    for bad, why in [("no_colon", "must read"), ("aurelia_local.nope:x", "cannot import"),
                     ("aurelia_local.core.registry:Nope", "has no attribute")]:  # fmt: skip
        with pytest.raises(ConfigError, match=why):
            load(bad)


def test_config_names_the_choices_for_an_unknown_kind_or_scorer():
    with pytest.raises(ConfigError, match="unknown model kind 'gpt'; choose from qwen2_5_omni, qwen3_omni"):
        load_settings("smoke", overrides=["models.generator.kind=gpt"], environ={})
    with pytest.raises(ConfigError, match="unknown scorer 'clip'; choose from grounding, judge, hybrid"):
        load_settings("smoke", overrides=["evaluator.scorer=clip"], environ={})
    hybrid = load_settings("smoke", overrides=["evaluator.scorer=hybrid"], environ={})
    assert hybrid.evaluator.scorer == "hybrid"


def test_model_files_come_from_the_family_entry(tmp_path):
    from aurelia_local.core.model_files import missing_files

    ref = ModelRef(kind="whisper", folder="w")
    assert missing_files(tmp_path, ref) == [str(tmp_path / "model.pt")]
    assert missing_files(tmp_path, ref.model_copy(update={"file": "x.pt"})) == [str(tmp_path / "x.pt")]
    omni = ModelRef(kind="qwen3_omni_moe", folder="q")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "vocab.json").write_text("{}")
    assert missing_files(tmp_path, omni) == ["preprocessor_config.json or processor_config.json"]


def test_omni_family_and_arm_modalities_read_the_registry():
    from aurelia_local.core.injection import ARMS as ARM_KEYS
    from aurelia_local.core.injection import REASONING_ARMS, arm_modalities
    from aurelia_local.engines.families import family, is_omni

    assert family("qwen3_omni_moe").audio_token == "<|audio_pad|>" and is_omni("qwen2_5_omni")
    assert not is_omni("clap") and not is_omni("nope")
    with pytest.raises(AureliaError, match="not an omni model"):
        family("text_llm")
    assert ARM_KEYS == ARMS.keys() and REASONING_ARMS == ("aurelia", "avrt")
    assert arm_modalities("audio_only") == (False, True) and arm_modalities("text_only") == (False, False)
    with pytest.raises(ValueError, match="neither video nor audio"):
        ArmEntry(key="x", summary="s", video=False, audio=False, instruction="cot")
    with pytest.raises(ConfigError, match="unknown arm"):
        arm_modalities("ears_only")
    assert "avrt" not in default_arms() and ArmEntry(key="x", summary="s", video=True, audio=False).default


def test_a_scorer_that_needs_the_judge_engine_says_so():
    from aurelia_local.engines.scorers import SCORER_ROLES, build_scorer

    settings = load_settings("smoke", overrides=["evaluator.scorer=judge"], environ={})
    with pytest.raises(ConfigError, match="needs the omni judge engine"):
        build_scorer(settings)
    assert SCORER_ROLES == {s.key: list(s.roles) for s in SCORERS}


def test_the_judge_scorer_is_built_from_its_class_path():
    from aurelia_local.engines.judge import JudgeScorer
    from aurelia_local.engines.scorers import build_scorer

    settings = load_settings("smoke", overrides=["evaluator.scorer=judge"], environ={})
    assert isinstance(build_scorer(settings, judge_engine=SimpleNamespace(generate=None)), JudgeScorer)


def test_eval_arms_are_checked_against_the_registry():
    from aurelia_local.app.cli import _arm_list, build_parser

    assert _arm_list(" cot, avrt ") == "cot,avrt"
    with pytest.raises(argparse.ArgumentTypeError, match="unknown arm.*ears.*choose from zero_shot, cot"):
        _arm_list("cot,ears")
    args = build_parser().parse_args(["eval", "--benchmark", "manifest", "--data-root", "m.jsonl",
                                      "--target", "t", "--out", "o"])  # fmt: skip
    assert args.arms == ",".join(default_arms())


def test_music_avqa_is_found_in_its_data_root(tmp_path):
    from aurelia_local.app.eval.runner import load_benchmark

    settings = load_settings("smoke", environ={})
    with pytest.raises(AureliaError, match="no MUSIC-AVQA annotation JSON"):
        load_benchmark("music_avqa", tmp_path, settings)
    record = {"question_id": 7, "question_content": "Is the <Object> playing?", "templ_values": '["piano"]',
              "type": '["Audio", "Existential"]', "video_id": "v1", "anser": "yes"}  # fmt: skip
    (tmp_path / "avqa-test.json").write_text(json.dumps([record]))
    (sample,) = load_benchmark("music_avqa", tmp_path, settings)
    assert sample.question == "Is the piano playing?" and sample.video == tmp_path / "videos" / "v1.mp4"
    with pytest.raises(ConfigError, match="unknown benchmark 'mmlu'; choose from daily_omni"):
        load_benchmark("mmlu", tmp_path, settings)
