"""Settings sections for how the server runs: processes and sockets, database, job queue, image processing,
media storage, shared cache and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.config.setting import setting


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
class CacheConfig:
    page_seconds: int = setting(30, "Public pages are cached this long at most: whole for anonymous visitors; "
                                "for signed-in ones, all but their own header and buttons (changes invalidate "
                                "sooner in-process). 0 = render every request.", minimum=0)
    page_entries: int = setting(2000, "Most pages (and ActivityPub documents) each web process keeps; past it the "
                                "least recently used go. A page is 5-60 KB.", minimum=1)
    redis_url: str = setting("", "Redis shared by every web process for rate limits (media, client API, "
                             "remote lookups), e.g. redis://127.0.0.1:6379/1; empty = each process counts alone.")


@dataclass
class MetricsConfig:
    enabled: bool = setting(True, "Serve Prometheus metrics at /metrics.")
    allowed: list = setting(None, "Client addresses or networks (CIDR) that may read /metrics without the token.",
                            item=str)
    token: str = setting("", "Bearer token that also opens /metrics (Authorization: Bearer ...); empty = none.")

    def __post_init__(self) -> None:
        if self.allowed is None:
            self.allowed = ["127.0.0.1", "::1"]

