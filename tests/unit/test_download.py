import pytest

from aurelia_local.app.download import NETWORK_NOTICE, download
from aurelia_local.core.config import ROLES, load_settings
from aurelia_local.core.errors import AureliaError, ConfigError
from aurelia_local.engines.tiny.kit import build_kit


def test_tiny_roles_are_never_downloaded_and_the_network_need_is_said_first():
    lines: list[str] = []
    assert download(load_settings("smoke", environ={}), None, lines.append) == []
    assert lines[0] == NETWORK_NOTICE and "needs network access" in lines[0]
    assert all("build-tiny" in line for line in lines[1:]) and len(lines) == 1 + len(ROLES)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("models.clip.source=ftp:somewhere", "unknown source scheme 'ftp'"),
        ("models.clip.source=", "no download source"),
    ],
)
def test_bad_sources_are_clear_errors_before_any_network_use(override, message):
    settings = load_settings("smoke", overrides=["models.clip.tiny=false", override], environ={})
    with pytest.raises(AureliaError, match=message):
        download(settings, ["clip"], lambda _: None)


def test_unknown_tiny_model_name_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="unknown tiny model"):
        build_kit(tmp_path, only=["gpt5"])
    assert not any(tmp_path.iterdir())
