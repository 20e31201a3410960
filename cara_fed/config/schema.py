"""The whole settings tree: `Config`, one field per section, and `SECTIONS`, the TOML table name of each.

SECTIONS' order is the order of config.example.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cara_fed.config.ai_protection import CloakConfig, DetectionConfig, ProtectionConfig
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

SECTIONS: dict[str, type] = {
    "server": ServerConfig,
    "database": DatabaseConfig,
    "jobs": JobsConfig,
    "media": MediaConfig,
    "storage": StorageConfig,
    "instance": InstanceConfig,
    "federation": FederationConfig,
    "security": SecurityConfig,
    "mail": MailConfig,
    "cache": CacheConfig,
    "protection": ProtectionConfig,
    "detection": DetectionConfig,
    "api": ApiConfig,
    "cloak": CloakConfig,
    "retention": RetentionConfig,
    "portability": PortabilityConfig,
    "accounts": AccountsConfig,
    "metrics": MetricsConfig,
}


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    instance: InstanceConfig = field(default_factory=InstanceConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    security: SecurityConfig = field(default_factory=SecurityConfig)
    mail: MailConfig = field(default_factory=MailConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    protection: ProtectionConfig = field(default_factory=ProtectionConfig)
    detection: DetectionConfig = field(default_factory=DetectionConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    cloak: CloakConfig = field(default_factory=CloakConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    portability: PortabilityConfig = field(default_factory=PortabilityConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    source: str = "built-in defaults"

    @property
    def data_path(self) -> Path:
        return Path(self.server.data_dir).resolve()

    @property
    def base_url(self) -> str:
        return f"{self.server.scheme}://{self.server.domain}"

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.data_path / 'cara-fed.db'}"
