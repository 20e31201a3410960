"""Loading: built-in defaults < TOML file < CARA_FED__SECTION__KEY environment overrides, each value checked
against its declaration (type, choices, minimum) and the checks that span settings; every problem is reported
at once, in plain words, as a ConfigError."""

from __future__ import annotations

import os
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from cara_fed.config.ai_protection import DetectionConfig, ProtectionConfig
from cara_fed.config.infrastructure import StorageConfig
from cara_fed.config.schema import SECTIONS, Config

ENV_PREFIX = "CARA_FED__"


class ConfigError(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def _coerce(section: str, name: str, raw: Any, default: Any, meta: dict, from_env: bool) -> tuple[Any, str | None]:
    key = f"[{section}] {name}"
    expected = type(default) if default is not None else list
    value = raw
    if from_env and isinstance(raw, str):
        if expected is bool:
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                return default, f"{key}: '{raw}' is not a boolean; use true or false"
            value = lowered in ("true", "1", "yes")
        elif expected is int:
            try:
                value = int(raw)
            except ValueError:
                return default, f"{key}: '{raw}' is not a whole number"
        elif expected is list and meta.get("item") is str:
            value = [part.strip() for part in raw.split(",") if part.strip()]
        elif expected is list:
            try:
                value = [int(part) for part in raw.split(",") if part.strip()]
            except ValueError:
                return default, f"{key}: '{raw}' must be a comma-separated list of whole numbers"
    if expected is int and isinstance(value, bool) or not isinstance(value, expected):
        return default, f"{key}: expected {expected.__name__}, got {type(value).__name__} ({value!r})"
    if meta.get("choices") and value not in meta["choices"]:
        return default, f"{key}: '{value}' is not allowed; choose one of {', '.join(meta['choices'])}"
    if meta.get("minimum") is not None and value < meta["minimum"]:
        return default, f"{key}: {value} is too small; the minimum is {meta['minimum']}"
    return value, None


def load_config(path: str | os.PathLike | None = None, environ: dict[str, str] | None = None) -> Config:
    """Load and validate. Raises ConfigError listing every problem in plain words."""
    environ = dict(os.environ if environ is None else environ)
    path = path or environ.get("CARA_FED_CONFIG") or None
    problems: list[str] = []
    data: dict[str, Any] = {}
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"config file {path} does not exist"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"config file {path} is not valid TOML: {exc}"]) from None
    for key in data:
        if key not in SECTIONS:
            problems.append(f"[{key}]: unknown section; known sections are {', '.join(SECTIONS)}")

    overrides: dict[tuple[str, str], str] = {}
    for env_key, raw in environ.items():
        if not env_key.startswith(ENV_PREFIX):
            continue
        parts = env_key[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2 or parts[0] not in SECTIONS:
            problems.append(f"{env_key}: not a setting; use CARA_FED__SECTION__KEY, e.g. CARA_FED__SERVER__PORT")
            continue
        overrides[(parts[0], parts[1])] = raw

    config = Config(source=str(path) if path else "built-in defaults")
    for section, cls in SECTIONS.items():
        section_data = data.get(section, {})
        if not isinstance(section_data, dict):
            problems.append(f"[{section}] must be a table")
            section_data = {}
        known = {f.name: f for f in fields(cls)}
        for name in section_data:
            if name not in known:
                problems.append(f"[{section}] {name}: unknown setting; known: {', '.join(known)}")
        for name in {n for s, n in overrides if s == section} - known.keys():
            problems.append(f"{ENV_PREFIX}{section.upper()}__{name.upper()}: unknown setting in [{section}]")
        instance = getattr(config, section)
        for name, f in known.items():
            default = getattr(instance, name)
            if (section, name) in overrides:
                value, problem = _coerce(section, name, overrides[(section, name)], default, f.metadata, True)
            elif name in section_data:
                value, problem = _coerce(section, name, section_data[name], default, f.metadata, False)
            else:
                continue
            if problem:
                problems.append(problem)
            setattr(instance, name, value)
    if config.media.remote_share_percent > 100:
        problems.append(f"[media] remote_share_percent: {config.media.remote_share_percent} is more than 100")
    if config.media.sizes and not all(isinstance(s, int) and s >= 16 for s in config.media.sizes):
        problems.append("[media] sizes: every size must be a whole number of pixels, at least 16")
    if config.storage.backend == "s3" and not config.storage.s3_bucket:
        problems.append("[storage] s3_bucket: required when backend = s3")
    problems += _public_base_problems(config.storage)
    problems += _protection_problems(config.protection)
    problems += _detection_problems(config.detection)
    problems += _network_problems("[server] trusted_proxies", config.server.trusted_proxies)
    if config.cache.redis_url and not config.cache.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append(f"[cache] redis_url: '{config.cache.redis_url}' is not a redis:// URL")
    problems += _network_problems("[metrics] allowed", config.metrics.allowed)
    mail = config.mail
    if mail.security == "none" and mail.user and mail.host not in ("localhost", "127.0.0.1", "::1"):
        problems.append(f"[mail] security: 'none' would send the SMTP password to {mail.host} unencrypted; use "
                        "starttls or ssl (none is only for a server on this host)")
    if not 0 <= mail.digest_hour <= 23:
        problems.append(f"[mail] digest_hour: {mail.digest_hour} is not an hour of the day (0-23, UTC)")
    if problems:
        raise ConfigError(problems)
    return config


def _public_base_problems(storage: StorageConfig) -> list[str]:
    """An http(s) origin with an optional path and no query: the CSP names its origin, and keys are appended."""
    from urllib.parse import urlsplit

    storage.public_base_url = storage.public_base_url.strip().rstrip("/")
    if not storage.public_base_url:
        return []
    parts = urlsplit(storage.public_base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or any(c in storage.public_base_url for c in " ;,'\""):
        return [f"[storage] public_base_url: '{storage.public_base_url}' is not an http(s) URL such as "
                "https://media.example.org/published"]
    return []


def _network_problems(key: str, entries: list) -> list[str]:
    from cara_fed.observe import parse_networks

    try:
        parse_networks(entries)
    except ValueError as exc:
        return [f"{key}: {exc}"]
    return []


def _protection_problems(protection: ProtectionConfig) -> list[str]:
    problems = []
    if protection.tdm_policy_url and not protection.tdm_policy_url.startswith(("https://", "http://")):
        problems.append(f"[protection] tdm_policy_url: '{protection.tdm_policy_url}' is not an http(s) URL")
    if not all(isinstance(name, str) and name.strip() for name in protection.extra_ai_crawlers):
        problems.append("[protection] extra_ai_crawlers: every entry must be a non-empty user-agent token (a string)")
    if protection.ai_crawlers_file and not Path(protection.ai_crawlers_file).is_file():
        problems.append(f"[protection] ai_crawlers_file: {protection.ai_crawlers_file} is not a readable file")
    elif not problems:
        from protection.crawlers import CrawlerListError, load_crawlers

        try:  # a bad token would otherwise stop `serve` with a traceback
            load_crawlers(protection.extra_ai_crawlers, protection.ai_crawlers_file or None)
        except (CrawlerListError, OSError) as exc:
            problems.append(f"[protection] AI-crawler list: {exc}")
    return problems


def _detection_problems(detection: DetectionConfig) -> list[str]:
    problems = [f"[detection] {name}: {value} is more than 100"
                for name, value in (("min_score_percent", detection.min_score_percent),
                                    ("classifier_threshold_percent", detection.classifier_threshold_percent))
                if value > 100]
    for name in ("classifier_model", "c2pa_trust_anchors"):
        path = getattr(detection, name)
        if path and not Path(path).is_file():
            problems.append(f"[detection] {name}: {path} is not a readable file")
    return problems
