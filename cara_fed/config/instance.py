"""Settings sections for what the instance offers people and peers: its name and sign-up mode, federation,
account security, email, the client API, data portability, account deletion and retention."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.config.setting import setting


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
class ApiConfig:
    password_grant: bool = setting(False, "Let apps log in with the OAuth password grant (the app sees the password; "
                                   "the browser-based code flow never shows it to them).")
    access_token_days: int = setting(0, "Access tokens expire after this many days (apps then use their refresh "
                                     "token); 0 = never, as on Mastodon, which many apps expect.", minimum=0)
    requests_per_5_minutes: int = setting(300, "Client-API requests per access token (or address, without one) per "
                                          "5 minutes and web process (429 past it); 0 = no limit.", minimum=0)

