"""Settings: built-in defaults < TOML file < CARA_FED__SECTION__KEY environment overrides.

Every setting is declared once here (type, default, allowed values); `cara-fed check` and
config.example.toml are derived from these declarations, so they never drift apart.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "CARA_FED__"


def setting(default: Any, doc: str, choices: tuple[str, ...] | None = None, minimum: int | None = None,
            item: type = int) -> Any:
    """`item`: the element type of a list setting (its environment form is comma-separated)."""
    return field(default=default, metadata={"doc": doc, "choices": choices, "minimum": minimum, "item": item})


@dataclass
class ServerConfig:
    host: str = setting("127.0.0.1", "Address to bind (services bind loopback by default).")
    port: int = setting(8080, "Port to listen on.", minimum=1)
    domain: str = setting("127.0.0.1:8080", "Public host name (with port in development); part of every URL.")
    scheme: str = setting("http", "Public URL scheme; use https in production.", choices=("http", "https"))
    data_dir: str = setting("./data", "Folder for the embedded database, queue and media (relative to cwd).")
    processes: int = setting(1, "Web processes: more than 1 runs them under gunicorn's master (aiohttp worker), "
                             "each on its own SO_REUSEPORT socket, and restarts one that dies; 0 = one per CPU "
                             "core. The embedded worker runs in one of them only.", minimum=0)
    log_format: str = setting("text", "Log lines as text or as one JSON object a line (with request ids and "
                              "access-log fields).", choices=("text", "json"))
    trusted_proxies: list = setting(None, "Addresses or networks (CIDR) of reverse proxies in front of us, e.g. "
                                    "[\"127.0.0.1\", \"::1\"] for nginx on this host; add \"unix\" for a Unix "
                                    "socket. Only from these are X-Forwarded-For / Forwarded / X-Forwarded-Proto "
                                    "believed; empty = every visitor is its socket address.", item=str)
    max_inflight_requests: int = setting(128, "Back-pressure: requests one web process handles at once. Past "
                                         "it, pages and API calls wait at most inflight_wait_ms for a slot, "
                                         "then get 503 with Retry-After; inbox POSTs, /livez, /readyz, "
                                         "/metrics and streaming connections are never turned away. 0 = no "
                                         "limit.", minimum=0)
    inflight_wait_ms: int = setting(100, "How long a request over max_inflight_requests may wait for a slot "
                                    "before it is answered 503.", minimum=0)

    def __post_init__(self) -> None:
        if self.trusted_proxies is None:
            self.trusted_proxies = []


@dataclass
class DatabaseConfig:
    url: str = setting("", "SQLAlchemy async URL; empty = SQLite file in data_dir. PostgreSQL: "
                       "postgresql+asyncpg://user@127.0.0.1:5432/cara")
    echo: bool = setting(False, "Log every SQL statement (debugging only).")
    pool_size: int = setting(10, "PostgreSQL: connections each process keeps open. Size it so that processes x "
                             "(pool_size + max_overflow) stays under the server's max_connections.", minimum=1)
    max_overflow: int = setting(10, "PostgreSQL: extra connections a process may open in a burst (closed "
                                "again when returned).", minimum=0)
    pool_timeout_seconds: int = setting(30, "PostgreSQL: how long a request waits for a free connection "
                                        "before it fails (then 500 and a log line: raise the pool or add "
                                        "processes).", minimum=1)
    pool_recycle_seconds: int = setting(1800, "PostgreSQL: connections older than this are replaced (proxies "
                                        "such as PgBouncer or a firewall may cut idle ones).", minimum=60)


@dataclass
class JobsConfig:
    backend: str = setting("sqlite", "Queue storage: sqlite (file in data_dir) or redis.", choices=("sqlite", "redis"))
    redis_url: str = setting("redis://127.0.0.1:6379/0", "Redis URL when backend = redis.")
    embedded_worker: bool = setting(True, "Run the worker inside `serve` (embedded default). Turn off when "
                                    "running `cara-fed worker` processes separately.")
    worker_threads: int = setting(2, "Worker threads per queue in one process.", minimum=1)
    sweep_seconds: int = setting(60, "How often the sweep re-queues overdue work.", minimum=5)
    worker_name: str = setting("", "Name this worker stamps on the work it claims, so that after a crash its "
                               "next start re-queues that work at once; empty = host name + role (embedded, "
                               "or the queues served). Give each worker on one host serving the same queues "
                               "its own name.")
    separate_scheduler: bool = setting(False, "Periodic jobs (sweeps, retention) are run by `cara-fed scheduler` "
                                       "processes instead of the worker serving the media queue. Either way each "
                                       "run is claimed in the database, so exactly one process does it however "
                                       "many schedulers or workers run.")


@dataclass
class MediaConfig:
    max_upload_mb: int = setting(40, "Largest accepted upload, in MiB.", minimum=1)
    max_megapixels: int = setting(60, "Largest accepted image, in megapixels (decompression-bomb guard).",
                                  minimum=1)
    max_images_per_artwork: int = setting(10, "Images per artwork.", minimum=1)
    memory_budget_mb: int = setting(384, "Memory one worker process may spend decoding images at once, in MiB. "
                                    "Each media job reserves its estimated peak first (about 6 bytes a pixel: a "
                                    "49 MP image takes ~300 MiB), so ordinary uploads run side by side and a "
                                    "huge one runs alone. Size it with the number of worker processes.",
                                    minimum=64)
    remote_share_percent: int = setting(50, "Most of that budget federated (remote) images may hold, so they "
                                        "never make local uploads wait for memory.", minimum=1)
    sizes: list = setting(None, "Derivative long edges in pixels.")

    def __post_init__(self) -> None:
        if self.sizes is None:
            self.sizes = [2560, 1280, 960, 640, 400]  # 640/960: phone tiles at 2-3x density


@dataclass
class StorageConfig:
    backend: str = setting("local", "Where media lives: local (data_dir/media) or s3 (any S3-compatible store: "
                           "AWS S3, SeaweedFS, MinIO...). Move existing media with `cara-fed media migrate`.",
                           choices=("local", "s3"))
    s3_endpoint: str = setting("", "S3 API URL, e.g. http://127.0.0.1:8333 for SeaweedFS; empty = AWS.")
    s3_bucket: str = setting("", "Bucket holding both areas (private originals, public derivatives); it must not "
                             "be readable anonymously: every file is served through us.")
    s3_region: str = setting("us-east-1", "Bucket region.")
    s3_access_key: str = setting("", "Access key id; empty = the usual AWS credential chain.")
    s3_secret_key: str = setting("", "Secret access key (prefer CARA_FED__STORAGE__S3_SECRET_KEY).")
    s3_prefix: str = setting("", "Key prefix inside the bucket, for sharing one bucket.")
    s3_read_cache_mb: int = setting(64, "Per-process memory for recently served public files (their keys never "
                                    "change content, so it is never stale); 0 = off.", minimum=0)
    public_base_url: str = setting("", "Where the store or a CDN serves public derivatives itself, e.g. "
                                   "https://media.example.org (a bucket policy or proxy exposing only the "
                                   "`published/` area). Public works' files are then linked there, with our NoAI "
                                   "headers as object metadata; followers-only, held and unpublished files are "
                                   "always served through us. Empty = every file through us. Backfill or clean up "
                                   "with `cara-fed media sync-public`.")


@dataclass
class InstanceConfig:
    name: str = setting("cara-fed", "Instance name shown in the header and NodeInfo.")
    description: str = setting("A home for artists' portfolios. No AI training, no ads.", "Short description.")
    registration: str = setting("open", "Sign-up mode.", choices=("open", "approval", "invite", "closed"))
    admin_email: str = setting("", "Contact address shown on the about page.")


@dataclass
class FederationConfig:
    allow_private_addresses: bool = setting(False, "Allow fetching from/delivering to private and loopback "
                                            "addresses (only for local development and tests).")
    authorized_fetch: bool = setting(False, "Require signed GETs for our ActivityPub documents.")
    allowlist_mode: bool = setting(False, "Federate only with instances an admin has allowed (admin page).")
    media_fetch_attempts: int = setting(5, "Tries to fetch a remote image (timeouts, 5xx, connection errors) "
                                        "before giving up on it with the reason; waits 1, 4, 16, 64 minutes "
                                        "between tries.", minimum=1)


@dataclass
class SecurityConfig:
    login_attempts: int = setting(10, "Failed logins allowed per client address per 15 minutes; an account "
                                  "answers with a back-off only after this many failures from 3+ addresses, and "
                                  "never to a browser that logged in to it before (docs/security.md).", minimum=1)
    session_days: int = setting(30, "How long a login session lasts.", minimum=1)
    form_body_kb: int = setting(64, "Largest request body (KiB) a visitor who is not signed in may send (log-in, "
                                "sign-up, OAuth token forms); bigger answers 413 before it is read.", minimum=1)
    signed_in_body_kb: int = setting(1024, "Largest request body (KiB) of a signed-in form or API call that is not "
                                     "an upload; uploads (signed in only) may send up to [media] max_upload_mb per "
                                     "image.", minimum=1)
    comments_per_hour: int = setting(30, "Comments one local account may post per hour (429 past it, against "
                                     "comment spam); 0 = no limit.", minimum=0)
    password_hash_workers: int = setting(0, "Threads per process that hash and check passwords (argon2, off the "
                                         "event loop); 0 = one per CPU core.", minimum=0)
    password_hash_queue: int = setting(32, "Log-ins and sign-ups per process that may wait for a hashing thread; "
                                       "past it they answer 503 with Retry-After at once instead of queueing.",
                                       minimum=0)
    password_hash_memory_kib: int = setting(19456, "argon2id memory cost (KiB) of new password hashes. The default "
                                            "is OWASP's recommended minimum (19 MiB, with time cost 2, parallelism "
                                            "1); raise it on a big box. Older hashes are upgraded at log-in.",
                                            minimum=8192)
    password_hash_time_cost: int = setting(2, "argon2id iterations of new password hashes.", minimum=1)
    password_hash_parallelism: int = setting(1, "argon2id lanes of new password hashes.", minimum=1)
    require_admin_2fa: bool = setting(False, "Admins must use two-factor authentication (TOTP): an admin without "
                                      "it is sent to enrolment before any other page (docs/accounts.md).")
    remote_lookups_per_minute: int = setting(20, "“Follow from your server” lookups (WebFinger requests we make "
                                             "for a visitor) allowed per client address per minute; 0 = no limit.",
                                             minimum=0)


@dataclass
class MailConfig:
    host: str = setting("", "SMTP server that sends account emails (address verification, password reset, email "
                        "change); empty = no email: those features are off and the admin page says so.")
    port: int = setting(587, "SMTP port (587 with starttls, 465 with ssl, 25 plain).", minimum=1)
    security: str = setting("starttls", "How the connection is encrypted: starttls (upgrade after connecting), "
                            "ssl (TLS from the start) or none (only for a server on this host).",
                            choices=("starttls", "ssl", "none"))
    user: str = setting("", "SMTP login; empty = send without logging in.")
    password: str = setting("", "SMTP password (prefer CARA_FED__MAIL__PASSWORD).")
    from_address: str = setting("", "Sender address, e.g. \"Cara <noreply@example.org>\"; empty = "
                                "noreply@<server domain without port>.")
    timeout_seconds: int = setting(30, "Give up on one SMTP attempt after this long (it is retried later).",
                                   minimum=1)
    attempts: int = setting(6, "Tries per email before it is given up (waits 1, 4, 16, 64... minutes between "
                            "them).", minimum=1)
    require_verified_email: bool = setting(True, "New accounts must confirm their email address (a link is sent on "
                                           "sign-up) before they can publish works or job posts or comment "
                                           "(they can still sign in, edit their profile and follow). Only applies "
                                           "when a mail host is set.")
    token_minutes: int = setting(60, "Password-reset and email-change links expire after this many minutes "
                                 "(sign-up verification links after 7 days). Each link works once.", minimum=5)
    digest_hour: int = setting(8, "Hour of the day (UTC, 0-23) from which the daily digest email goes to the "
                               "artists who asked for it in Settings (once a day, only when there are unread "
                               "notifications).", minimum=0)
    reset_requests: int = setting(5, "Password-reset requests allowed per client address per 15 minutes (and 3 "
                                  "per email address asked about); more answer 429.", minimum=1)

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass
class CacheConfig:
    page_seconds: int = setting(30, "Anonymous pages are cached this long at most (changes invalidate "
                                "sooner in-process).", minimum=0)
    redis_url: str = setting("", "Redis shared by every web process for rate limits (media, client API, "
                             "remote lookups), e.g. redis://127.0.0.1:6379/1; empty = each process counts alone.")


@dataclass
class PortabilityConfig:
    export_days: int = setting(7, "A portfolio archive can be downloaded this long; retention then deletes it.",
                               minimum=1)
    archive_max_mb: int = setting(400, "Largest portfolio archive (zip) an artist may upload to import.", minimum=1)
    archive_max_uncompressed_mb: int = setting(4096, "Total size an imported archive may unpack to; an archive "
                                               "that claims or unpacks to more is refused (zip bombs).", minimum=1)
    archive_max_entries: int = setting(10000, "Most files an imported archive may hold.", minimum=1)
    archive_max_ratio: int = setting(100, "Highest compression ratio allowed for any file of an imported archive "
                                     "(images barely compress; a huge ratio is a zip bomb).", minimum=1)
    csv_max_rows: int = setting(5000, "Most accounts one following CSV may list.", minimum=1)
    csv_max_kb: int = setting(1024, "Largest following CSV accepted.", minimum=1)


@dataclass
class AccountsConfig:
    deletion_grace_days: int = setting(30, "An account whose owner asked to delete it (or that an admin suspended) "
                                       "stays restorable this many days; then its works and files are purged, "
                                       "Delete is sent to every server that knew it, and the name stays "
                                       "reserved. 0 = at the next run of the deletion job.", minimum=0)


@dataclass
class RetentionConfig:
    inbox_days: int = setting(14, "Received activities that are done (processed, ignored, failed) are deleted "
                              "this many days after they finished.", minimum=1)
    deliveries_days: int = setting(30, "Finished deliveries (sent, gone, failed) are deleted this many days "
                                   "after they finished; the artist's delivery log shows the rest.", minimum=1)
    outgoing_days: int = setting(90, "Activities we sent are deleted this long after sending once no delivery "
                                 "of theirs is left.", minimum=1)
    replaced_media_hours: int = setting(24, "Files replaced by a re-stamp (NoAI, licence or label changed) or a "
                                        "re-cloak stay served this long for the pages, caches and followers' "
                                        "servers that still name them; then they are deleted.", minimum=0)
    remote_media_unviewed_days: int = setting(30, "Cached copies of other servers' images that nobody viewed "
                                              "for this many days are deleted (the rows and URLs stay); the next "
                                              "view fetches the image again from its origin. 0 = keep them "
                                              "forever.", minimum=0)
    remote_media_refetch_wait_seconds: int = setting(10, "How long a request for an evicted remote image waits "
                                                     "for the remote-media worker to fetch it again before it "
                                                     "answers 503 with Retry-After.", minimum=0)
    unattached_media_hours: int = setting(24, "Images uploaded by a client app (POST /api/v1|v2/media) that no "
                                          "post used within this many hours are deleted with their files.",
                                          minimum=1)
    every_minutes: int = setting(60, "How often the pruning runs.", minimum=1)


@dataclass
class MetricsConfig:
    enabled: bool = setting(True, "Serve Prometheus metrics at /metrics.")
    allowed: list = setting(None, "Client addresses or networks (CIDR) that may read /metrics without the token.",
                            item=str)
    token: str = setting("", "Bearer token that also opens /metrics (Authorization: Bearer ...); empty = none.")

    def __post_init__(self) -> None:
        if self.allowed is None:
            self.allowed = ["127.0.0.1", "::1"]


@dataclass
class ProtectionConfig:
    tdm_policy_url: str = setting("", "TDMRep policy URL sent as `tdm-policy` (header, meta, tdmrep.json) with "
                                  "every NoAI reservation; empty = none. Must be http(s).")
    extra_ai_crawlers: list = setting(None, "User-agent tokens to add to the shipped AI-crawler list "
                                      "(protection/data/ai-crawlers.txt) for robots.txt, ai.txt and media blocking.",
                                      item=str)
    ai_crawlers_file: str = setting("", "A file of more AI-crawler tokens, same format as the shipped list "
                                    "(one token per line, # comments); empty = none.")
    block_ai_crawlers_on_media: bool = setting(True, "Answer 403 to listed AI crawlers asking for media.")
    media_rate_limit_per_minute: int = setting(600, "Media requests allowed per client address per minute and "
                                               "web process (429 with Retry-After past it); 0 = no limit.",
                                               minimum=0)

    def __post_init__(self) -> None:
        if self.extra_ai_crawlers is None:
            self.extra_ai_crawlers = []


@dataclass
class ApiConfig:
    password_grant: bool = setting(False, "Let apps log in with the OAuth password grant (the app sees the password; "
                                   "the browser-based code flow never shows it to them).")
    access_token_days: int = setting(0, "Access tokens expire after this many days (apps then use their refresh "
                                     "token); 0 = never, as on Mastodon, which many apps expect.", minimum=0)
    requests_per_5_minutes: int = setting(300, "Client-API requests per access token (or address, without one) per "
                                          "5 minutes and web process (429 past it); 0 = no limit.", minimum=0)


POLICY_ACTIONS = ("accept", "label", "hold", "reject")


@dataclass
class DetectionConfig:
    local_policy: str = setting("label", "What to do with a local upload whose AI-provenance detection finds a "
                                "signal: accept (publish, verdict visible to the artist), label (publish with "
                                "an AI label), hold (keep for moderator review), reject (kept privately; the "
                                "artist may appeal).", choices=POLICY_ACTIONS)
    inbound_policy: str = setting("label", "The same choice for media arriving over federation.",
                                  choices=POLICY_ACTIONS)
    min_score_percent: int = setting(50, "Verdict score (0-100) from which the policy applies; below it the "
                                     "verdict is only shown in the artist's protection panel.", minimum=0)
    classifier_model: str = setting("", "Path of an optional ONNX image classifier (docs/detection.md); empty = "
                                    "metadata, provenance and watermark layers only.")
    classifier_input_size: int = setting(224, "Classifier input edge in pixels.", minimum=8)
    classifier_threshold_percent: int = setting(50, "Classifier probability (0-100) from which it counts as "
                                                "evidence.", minimum=0)
    classifier_positive_index: int = setting(1, "Which output of the classifier is the AI class.", minimum=0)
    classifier_normalisation: str = setting("imagenet", "Per-channel mean/std the model was trained with.",
                                            choices=("imagenet", "clip"))
    classifier_activation: str = setting("auto", "How outputs become a probability: auto (in [0,1] as is, one "
                                         "value sigmoid, several softmax), softmax, sigmoid or none.",
                                         choices=("auto", "softmax", "sigmoid", "none"))
    classifier_resize: str = setting("center_crop", "center_crop (shorter side to the input size, then crop, "
                                     "like CLIP) or stretch.", choices=("center_crop", "stretch"))
    c2pa_trust_anchors: str = setting("", "PEM file of C2PA trust anchors; without it signed manifests are "
                                      "reported valid, never trusted.")


@dataclass
class CloakConfig:
    engine: str = setting("adversarial", "Cloaking engine for works whose artist turned it on (docs/cloaking.md): "
                          "adversarial (built in; needs the cloak extra, pip install 'cara-fed[cloak]'), external "
                          "(a command such as Glaze or Mist) or none (cloaking is not offered).",
                          choices=("adversarial", "external", "none"))
    steps: int = setting(30, "Optimisation steps of the built-in engine (time grows linearly).", minimum=1)
    target_psnr: int = setting(33, "Perceptual budget of the built-in engine: the cloaked image stays at least "
                               "this close (PSNR, dB) to the original.", minimum=20)
    seed: int = setting(0, "Seed of the built-in engine (each image adds its own id, so results are "
                        "reproducible).", minimum=0)
    threads: int = setting(2, "CPU threads one cloaking job may use.", minimum=1)
    measure: bool = setting(True, "After cloaking, measure the protection panel's figures (PSNR, SSIM, embedding "
                            "shifts on CLIP and the held-out encoder beside the baselines). Needs the cloak extra "
                            "even with an external engine; costs CPU (tens of seconds per image on 2 cores).")
    external_command: list = setting(None, "The external engine's command and arguments; {input} and {output} "
                                     "are replaced by the PNG to cloak and the file the tool must write.", item=str)
    external_timeout_seconds: int = setting(1800, "The external tool is stopped (and the job fails, visibly) "
                                            "after this long.", minimum=1)
    external_concurrency: int = setting(1, "External tool runs at once per worker process.", minimum=1)
    external_version: str = setting("", "Name and version of the external tool, shown to artists and federated "
                                    "(e.g. glaze-2.1); empty = the program's name.")
    inbound_noai: bool = setting(False, "Also cloak our cached copies of remote works that ask for NoAI and are "
                                 "not cloaked by their origin.")

    def __post_init__(self) -> None:
        if self.external_command is None:
            self.external_command = []


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


def example_toml() -> str:
    """config.example.toml, generated from the declarations above."""
    lines = ["# cara-fed configuration. Every setting is shown with its default.",
             "# Any setting can be overridden with CARA_FED__SECTION__KEY, e.g. CARA_FED__SERVER__PORT=8081.", ""]
    defaults = Config()
    for section, cls in SECTIONS.items():
        lines.append(f"[{section}]")
        for f in fields(cls):
            doc = f.metadata.get("doc", "")
            choices = f.metadata.get("choices")
            lines.append(f"# {doc}" + (f" One of: {', '.join(choices)}." if choices else ""))
            value = getattr(getattr(defaults, section), f.name)
            if isinstance(value, bool):
                rendered = "true" if value else "false"
            elif isinstance(value, str):
                rendered = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
            else:
                rendered = str(value)
            lines.append(f"{f.name} = {rendered}")
        lines.append("")
    return "\n".join(lines)
