"""Plain data models. No wire formats here: serialisation lives at the edges."""

from cara_fed.models.accounts import (
                                     Account,
                                     AccountToken,
                                     Invite,
                                     LoginFailure,
                                     LoginSession,
                                     MailDigest,
                                     OutgoingMail,
                                     RecoveryCode,
)
from cara_fed.models.artworks import Artwork, ArtworkEdit, ArtworkImage, ArtworkTag, Project, ProjectItem
from cara_fed.models.clients import IdempotencyKey, Marker, OAuthApp, OAuthCode, OAuthToken
from cara_fed.models.discovery import TagFollow
from cara_fed.models.federation import Delivery, Follow, InboxItem, Instance, OutgoingActivity
from cara_fed.models.jobs import JobApplication, JobImage, JobPost, Notification
from cara_fed.models.media import MediaAsset, MediaDerivative, RetiredMedia
from cara_fed.models.moderation import AuditEntry, InstanceRule
from cara_fed.models.ops import ScheduledRun
from cara_fed.models.portability import DataExport, DataImport
from cara_fed.models.protection import ModerationEvent, ReviewCase
from cara_fed.models.safety import Block, Mute, Report
from cara_fed.models.social import Bookmark, Boost, Comment, Like

__all__ = ["Account", "Artwork", "ArtworkImage", "ArtworkTag", "Delivery", "Follow", "InboxItem", "Instance", "Invite",
           "LoginFailure", "LoginSession", "MediaAsset", "MediaDerivative", "OutgoingActivity", "Project",
           "RetiredMedia", "ProjectItem", "JobPost", "JobImage", "JobApplication", "Notification",
           "ModerationEvent", "ReviewCase", "Like", "Boost", "Bookmark", "Comment"]
__all__ += ["Block", "Mute", "Report", "TagFollow"]  # discovery and safety (issue 6)
__all__ += ["IdempotencyKey", "Marker", "OAuthApp", "OAuthCode", "OAuthToken"]  # client API (issue 13)
__all__ += ["ScheduledRun"]  # operations (issue 15)
__all__ += ["ArtworkEdit"]  # edit history (issue 16)
__all__ += ["AccountToken", "OutgoingMail", "RecoveryCode"]  # email and two-factor (issue 18)
__all__ += ["DataExport", "DataImport"]  # export and import (issue 18)
__all__ += ["AuditEntry", "InstanceRule"]  # instance rules and the moderation audit log (issue 18)
__all__ += ["MailDigest"]  # the daily digest email (issue 18)
