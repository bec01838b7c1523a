from pathlib import Path

import pytest

from aurelia_local.core.config import ROLES, config_hash, dump_settings, env_overrides, load_settings
from aurelia_local.core.errors import ConfigError


def test_every_profile_loads_and_fills_every_role():
    hashes = set()
    for name in ("smoke", "default", "large"):
        s = load_settings(name, environ={})
        assert set(ROLES) <= set(s.models)
        hashes.add(config_hash(s))
    assert len(hashes) == 3


def test_each_layer_overrides_the_one_below_and_changes_the_hash(tmp_path: Path):
    base = load_settings("smoke", environ={})
    assert base.loop.tau == 6.0 and base.media.num_frames == 4  # profile value over the built-in 8

    cfg = tmp_path / "user.yaml"
    cfg.write_text("loop: {tau: 7}\nmedia: {num_frames: 6}\n")
    file_layer = load_settings("smoke", config_file=cfg, environ={})
    assert file_layer.loop.tau == 7 and file_layer.media.num_frames == 6

    env = {"AURELIA_LOOP__TAU": "8"}
    env_layer = load_settings("smoke", config_file=cfg, environ=env)
    assert env_layer.loop.tau == 8 and env_layer.media.num_frames == 6  # untouched keys survive

    cli_layer = load_settings("smoke", config_file=cfg, environ=env, overrides=["loop.tau=9"])
    assert cli_layer.loop.tau == 9

    hashes = [config_hash(s) for s in (base, file_layer, env_layer, cli_layer)]
    assert len(set(hashes)) == 4
    assert config_hash(load_settings("smoke", environ={})) == hashes[0]  # stable


def test_profile_selected_by_env_and_argument_wins():
    assert load_settings(environ={"AURELIA_PROFILE": "default"}).profile == "default"
    assert load_settings("large", environ={"AURELIA_PROFILE": "default"}).profile == "large"
    assert load_settings(environ={}).profile == "smoke"


def test_config_file_from_env(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("sampling: {max_tokens: 7}\n")
    assert load_settings("smoke", environ={"AURELIA_CONFIG": str(cfg)}).sampling.max_tokens == 7


def test_models_dir_does_not_change_the_hash_but_a_model_folder_does():
    a = load_settings("smoke", overrides=["models_dir=/a"], environ={})
    b = load_settings("smoke", overrides=["models_dir=/b"], environ={})
    c = load_settings("smoke", overrides=["models.generator.folder=elsewhere"], environ={})
    assert config_hash(a) == config_hash(b) != config_hash(c)
    assert a.model_path("generator") == Path("/a/tiny/qwen2_5_omni")
    assert c.models["generator"].kind == "qwen2_5_omni"  # nested merge keeps sibling keys


def test_values_are_typed_scalars():
    tree = env_overrides(
        {"AURELIA_ENGINE__ENFORCE_EAGER": "false", "AURELIA_MEDIA__NUM_FRAMES": "3", "PATH": "x"}
    )
    assert tree == {"engine": {"enforce_eager": False}, "media": {"num_frames": 3}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"overrides": ["loop.nonsense=1"]}, "nonsense"),
        ({"overrides": ["loop.tau"]}, "expected KEY=VALUE"),
        ({"overrides": ["loop.tau=11"]}, "tau"),
        ({"environ": {"AURELIA_BOGUS": "1"}}, "bogus"),
        ({"name": "huge"}, "unknown profile 'huge'"),
    ],
)
def test_bad_configuration_is_a_clear_error(kwargs, message):
    name = kwargs.pop("name", "smoke")
    kwargs.setdefault("environ", {})
    with pytest.raises(ConfigError, match=message):
        load_settings(name, **kwargs)


def test_bad_config_file_names_the_file(tmp_path: Path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml does not exist"):
        load_settings("smoke", config_file=missing, environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="bad.yaml must hold a mapping"):
        load_settings("smoke", config_file=bad, environ={})


def test_dump_contains_the_hash():
    s = load_settings("smoke", environ={})
    assert f"config_hash: {config_hash(s)}" in dump_settings(s)


def test_variables_read_by_scripts_logs_and_tests_are_never_settings():
    from aurelia_local.core.config import ENV_RESERVED

    layers = ("AURELIA_PROFILE", "AURELIA_CONFIG")
    environ = {name: "/somewhere" for name in ENV_RESERVED if name not in layers}
    settings = load_settings("smoke", environ=environ)  # an unknown key would be an error
    assert settings == load_settings("smoke", environ={})
    assert {"AURELIA_LOG_DIR", "AURELIA_SHARED_DATA", "AURELIA_DEMO_DATA"} <= ENV_RESERVED


def test_a_model_split_over_gpus_is_served_and_loaded_split():
    from aurelia_local.engines.server_flags import server_flags
    from aurelia_local.engines.vllm_engine import world_size

    split = load_settings(
        "large", environ={},
        overrides=["models.generator.tensor_parallel_size=2", "models.generator.pipeline_parallel_size=2"],
    )  # fmt: skip
    flags = server_flags(split, "generator")
    assert flags[flags.index("--tensor-parallel-size") + 1] == "2"
    assert flags[flags.index("--pipeline-parallel-size") + 1] == "2"
    assert "--tensor-parallel-size" not in server_flags(split, "summarizer")
    assert world_size(split.models["generator"]) == 4 and world_size(split.models["summarizer"]) == 1
    with pytest.raises(ConfigError, match="tensor_parallel_size"):
        load_settings("large", environ={}, overrides=["models.generator.tensor_parallel_size=0"])
