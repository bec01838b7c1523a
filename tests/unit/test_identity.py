"""Run identity: what can change a result is compared, how a run is executed is only recorded."""

import json

import pytest

from aurelia_local.core.config import (
    EXECUTION_SETTINGS,
    Settings,
    config_hash,
    execution_settings,
    load_settings,
)
from aurelia_local.core.errors import ConfigError
from aurelia_local.core.identity import MANIFEST, claim_run, new_manifest, open_run

VERSIONS = {"prompt_version": "aurelia-1", "loop_backend": "vllm_local"}


def _settings(*overrides):
    return load_settings("smoke", overrides=list(overrides), environ={})


def test_execution_settings_leave_the_config_hash_alone():
    base = config_hash(_settings())
    execution = (
        "loop.concurrency=3", "engine.request_timeout_s=5", "engine.max_retries=0",
        "engine.core_placement=own_process", "engine.servers.generator=[http://127.0.0.1:9/v1]",
        "engine.mm_cache_gib=2", "models_dir=/elsewhere", "engine.max_num_seqs=2",
    )  # fmt: skip
    for item in execution:
        assert config_hash(_settings(item)) == base, item
    for item in ("loop.tau=7", "sampling.seed=1", "media.num_frames=2", "models.generator.folder=other"):
        assert config_hash(_settings(item)) != base, item


def test_every_execution_setting_names_a_real_setting():
    def exists(model, path):
        head, _, rest = path.partition(".")
        field = model.model_fields.get(head)
        if field is None:
            return False
        inner = getattr(field.annotation, "model_fields", None)
        return not rest or (inner is not None and exists(field.annotation, rest))

    assert all(exists(Settings, path) for path in EXECUTION_SETTINGS)
    assert set(execution_settings(_settings())) == EXECUTION_SETTINGS


def test_a_run_of_the_same_identity_is_accepted_and_its_execution_recorded(tmp_path):
    first = claim_run(tmp_path, new_manifest("distill", _settings(), VERSIONS, None))
    again = claim_run(tmp_path, new_manifest("distill", _settings("loop.concurrency=2"), VERSIONS, None))
    assert again.identity_hash == first.identity_hash and again.created == first.created
    saved = json.loads((tmp_path / MANIFEST).read_text())
    assert saved["execution"]["loop.concurrency"] == 2  # the latest run's execution is what is recorded


def test_a_run_of_another_identity_is_refused_naming_each_difference(tmp_path):
    claim_run(tmp_path, new_manifest("distill", _settings(), VERSIONS, None))
    other = new_manifest(
        "distill", _settings("loop.tau=7"), {**VERSIONS, "prompt_version": "aurelia-2"}, None
    )
    with pytest.raises(ConfigError) as err:
        claim_run(tmp_path, other)
    message = str(err.value)
    assert (
        "settings.loop.tau: 6.0 -> 7.0" in message and 'prompt_version: "aurelia-1" -> "aurelia-2"' in message
    )
    assert "another --out" in message and "--new-run" in message
    manifest, folder = open_run(tmp_path, other, new_run=True)
    assert folder == tmp_path.with_name(f"{tmp_path.name}-{other.identity_hash[:8]}")
    assert json.loads((folder / MANIFEST).read_text())["identity_hash"] == other.identity_hash
    assert json.loads((tmp_path / MANIFEST).read_text())["identity"]["settings"]["loop"]["tau"] == 6.0


def test_a_folder_from_before_run_manifests_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "traces.jsonl").write_text("{}\n")
    with pytest.raises(ConfigError, match="earlier version of aurelia.*use another --out"):
        claim_run(
            tmp_path, new_manifest("distill", _settings(), VERSIONS, None), legacy_files=("traces.jsonl",)
        )


def test_other_package_versions_warn_and_the_earlier_ones_are_kept(tmp_path, caplog):
    first = new_manifest("distill", _settings(), VERSIONS, None)
    claim_run(tmp_path, first.model_copy(update={"versions": {**first.versions, "torch": "0.0.1"}}))
    with caplog.at_level("WARNING", logger="aurelia_local"):
        merged = claim_run(tmp_path, first)
    assert f"torch 0.0.1 -> {first.versions.get('torch')}" in caplog.text
    assert merged.version_history[0]["torch"] == "0.0.1"
    assert json.loads((tmp_path / MANIFEST).read_text())["version_history"] == merged.version_history
