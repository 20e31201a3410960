"""Settings: built-in defaults < TOML file < CARA_FED__SECTION__KEY environment overrides.

Every setting is declared once in this package (type, default, allowed values); `cara-fed check` and
config.example.toml are derived from these declarations, so they never drift apart.

setting.py declares a field; infrastructure.py, instance.py and ai_protection.py hold the sections; schema.py
puts them together (Config, SECTIONS); loading.py reads and checks them; example.py renders config.example.toml.
The names are re-exported here, the one import path for the whole code base.
"""

from cara_fed.config.ai_protection import POLICY_ACTIONS, CloakConfig, DetectionConfig, ProtectionConfig
from cara_fed.config.example import example_toml
from cara_fed.config.infrastructure import (
    CacheConfig,
    DatabaseConfig,
    JobsConfig,
    MediaConfig,
    MetricsConfig,
    ServerConfig,
    StorageConfig,
)
from cara_fed.config.instance import (
    AccountsConfig,
    ApiConfig,
    FederationConfig,
    InstanceConfig,
    MailConfig,
    PortabilityConfig,
    RetentionConfig,
    SecurityConfig,
)
from cara_fed.config.loading import ENV_PREFIX, ConfigError, load_config
from cara_fed.config.schema import SECTIONS, Config
from cara_fed.config.setting import setting

__all__ = [
    "ENV_PREFIX", "POLICY_ACTIONS", "SECTIONS", "AccountsConfig", "ApiConfig", "CacheConfig", "CloakConfig", "Config",
    "ConfigError", "DatabaseConfig", "DetectionConfig", "FederationConfig", "InstanceConfig", "JobsConfig",
    "MailConfig", "MediaConfig", "MetricsConfig", "PortabilityConfig", "ProtectionConfig", "RetentionConfig",
    "SecurityConfig", "ServerConfig", "StorageConfig", "example_toml", "load_config", "setting",
]
