"""Configuration layering: defaults < instance file < SHINSAKU_* environment < create_app(config)."""

from __future__ import annotations

import json

import pytest

from backend.config import CHROME_EXTENSION_ORIGIN, DEFAULTS, ConfigError, build_config, decode_limits


def test_defaults():
    config = build_config(environ={})
    assert config["HOST"] == "127.0.0.1" and config["PORT"] == 8765
    assert config["ALLOWED_ORIGINS"] == [CHROME_EXTENSION_ORIGIN]
    assert config["MODEL_PATH"].endswith("backend/models/shinsaku-detector.json")
    assert DEFAULTS["ALLOWED_ORIGINS"] == [CHROME_EXTENSION_ORIGIN]  # not mutated


def test_layers(tmp_path, monkeypatch):
    (tmp_path / "shinsaku.json").write_text(json.dumps(
        {"PORT": 9000, "CACHE_SIZE": 5, "ALLOWED_ORIGINS": ["moz-extension://a"], "UNKNOWN": 1}))
    monkeypatch.delenv("SHINSAKU_CONFIG", raising=False)
    env = {"SHINSAKU_PORT": "9100", "SHINSAKU_MAX_WAIT_MS": "2.5", "SHINSAKU_TOKEN": "123",
           "SHINSAKU_ALLOWED_ORIGINS": "moz-extension://b, moz-extension://a", "SHINSAKU_LOAD_MODEL_ASYNC": "false",
           "OTHER_PORT": "1"}
    config = build_config({"CACHE_SIZE": 7}, instance_path=tmp_path, environ=env)
    assert config["PORT"] == 9100 and config["CACHE_SIZE"] == 7 and config["MAX_WAIT_MS"] == 2.5
    assert config["TOKEN"] == "123" and config["LOAD_MODEL_ASYNC"] is False
    assert config["ALLOWED_ORIGINS"] == [CHROME_EXTENSION_ORIGIN, "moz-extension://a", "moz-extension://b"]
    assert "UNKNOWN" not in config
    assert build_config(instance_path=tmp_path, environ={})["PORT"] == 9000


def test_config_file_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "elsewhere.json"
    path.write_text(json.dumps({"QUEUE_SIZE": 3}))
    monkeypatch.setenv("SHINSAKU_CONFIG", str(path))
    assert build_config(environ={})["QUEUE_SIZE"] == 3
    path.write_text("{not json")
    with pytest.raises(ConfigError):
        build_config(environ={})


@pytest.mark.parametrize("bad", [{"QUEUE_SIZE": 0}, {"MAX_IMAGE_BYTES": -1}, {"HOST": "10.0.0.1"}])
def test_invalid(bad):
    with pytest.raises(ConfigError):
        build_config(bad, environ={})


@pytest.mark.parametrize("env", [{"SHINSAKU_PORT": "abc"}, {"SHINSAKU_PORT": "0"}, {"SHINSAKU_MAX_WAIT_MS": "soon"},
                                 {"SHINSAKU_PROVIDER": "tpu"}, {"SHINSAKU_CACHE_SIZE": "1.5"},
                                 {"SHINSAKU_MAX_ASPECT_RATIO": "wide"}, {"SHINSAKU_MAX_ASPECT_RATIO": "0"}])
def test_bad_environment_values_name_the_key(env):
    key = next(iter(env))[len("SHINSAKU_"):]
    with pytest.raises(ConfigError, match=key):
        build_config(environ=env)


def test_limits_come_from_one_file():
    from backend import limits, preprocessing

    assert DEFAULTS["MAX_IMAGE_BYTES"] == limits.LIMITS["max_image_bytes"]
    assert (preprocessing.MAX_PIXELS, preprocessing.MAX_SIDE) == (limits.MAX_PIXELS, limits.MAX_SIDE)
    assert decode_limits(build_config(environ={})).max_aspect_ratio == limits.MAX_ASPECT_RATIO
    assert "backend/limits.json" in (limits.LIMITS_FILE.parents[1] / "extension/src/utils/bytes.js").read_text()


def test_aspect_ratio_limit_is_configurable():
    config = build_config(environ={"SHINSAKU_MAX_ASPECT_RATIO": "2.5"})
    assert decode_limits(config).max_aspect_ratio == 2.5
