"""AI-provenance policy: detection verdicts on media become labels, holds or rejections; moderators decide
cases; artists appeal. Every decision is logged (ModerationEvent) and nothing is ever deleted here: a held
or rejected artwork keeps its original and derivatives until a moderator or the artist acts.

The admin sets one policy for local uploads and one for inbound federated media ([detection] in the
config). It applies when an artwork's combined verdict reaches `min_score_percent`; below that, or with
"no_signal", the verdict is only shown to the artist — and "no signal" never means "human-made".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from cara_fed import tasks, urls
from cara_fed.config import Config
from cara_fed.context import Context, Transaction
from cara_fed.db import utcnow
from cara_fed.errors import NotFound, PermissionDenied, ValidationError
from cara_fed.events import ArtworkDeleted, ArtworkPublished, emit
from cara_fed.models import Account, Artwork, ModerationEvent, ReviewCase
from cara_fed.services import audit, public_media
from cara_fed.states import transition
from protection import MediaPolicy
from protection.detect import (
    AI_ASSISTED,
    AI_GENERATED,
    NO_SIGNAL,
    NORMALISATIONS,
    ClassifierConfig,
    Verdict,
    classifier_self_check,
    detect,
)

log = logging.getLogger(__name__)

LABELS = (AI_GENERATED, AI_ASSISTED)
LABEL_TEXT = {AI_GENERATED: "AI-generated", AI_ASSISTED: "AI-assisted"}
DECISIONS = {  # moderator action -> (artwork state, label)
    "publish": ("published", None),
    "label_ai_generated": ("published", AI_GENERATED),
    "label_ai_assisted": ("published", AI_ASSISTED),
    "hold": ("held", None),
    "reject": ("rejected", None),
}
MAX_APPEAL = 2000


# --- detection ----------------------------------------------------------------------------------------------


def classifier_config(config: Config) -> ClassifierConfig | None:
    detection = config.detection
    if not detection.classifier_model:
        return None
    mean, std = NORMALISATIONS[detection.classifier_normalisation]
    return ClassifierConfig(model_path=detection.classifier_model, input_size=detection.classifier_input_size,
                            mean=mean, std=std, threshold=detection.classifier_threshold_percent / 100,
                            positive_index=detection.classifier_positive_index,
                            activation=detection.classifier_activation, resize=detection.classifier_resize)


def check_classifier_slot(config: Config) -> str | None:
    """The configured classifier's start-up self-check (protection/detect/selfcheck.py). Returns the refusal
    message (also logged as an error) when it fails; None when the slot is empty, passes, or has no reference.
    A refused model is then skipped by every detection with the same message in its evidence."""
    cfg = classifier_config(config)
    if cfg is None:
        return None
    try:
        result = classifier_self_check(cfg.model_path)
    except Exception as exc:  # a missing or unreadable model is reported by detection itself
        log.error("classifier %s could not be loaded: %s", cfg.model_path, exc)
        return None
    if not result.ok:
        log.error("%s", result.message)
        return result.message
    log.info("%s", result.message)
    return None


def _trust_anchors(config: Config) -> str | None:
    path = config.detection.c2pa_trust_anchors
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        return handle.read()


async def detect_original(ctx: Context, data: bytes) -> dict | None:
    """The verdict on an original as JSON for MediaAsset.verdict; None if detection itself broke (logged: a
    detector bug must not stop the artwork, and the panel then says detection did not run)."""
    try:
        verdict = await asyncio.to_thread(detect, data, classifier=classifier_config(ctx.config),
                                          c2pa_trust_anchors=_trust_anchors(ctx.config))
    except Exception:
        log.exception("AI-provenance detection failed")
        return None
    return verdict.to_json()


IPTC_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SOURCE_TYPES = {AI_GENERATED: IPTC_SOURCE + "trainedAlgorithmicMedia",
                AI_ASSISTED: IPTC_SOURCE + "compositeWithTrainedAlgorithmicMedia"}


def with_source_type(config: Config, policy: MediaPolicy, verdict: dict | None) -> MediaPolicy:
    """Derivatives must not claim "digital creation" for an image our check found AI signals in: their XMP
    then says what was found, so other servers (and dataset tools) read the same provenance."""
    if not verdict:
        return policy
    found = Verdict.from_json(verdict)
    if found.label not in SOURCE_TYPES or found.score * 100 < config.detection.min_score_percent:
        return policy
    return replace(policy, digital_source_type=SOURCE_TYPES[found.label])


async def derivative_source_type(session, config: Config, artwork: Artwork,  # type: ignore[no-untyped-def]
                                  policy: MediaPolicy, verdict: dict | None) -> MediaPolicy:
    """The DigitalSourceType a local work's derivatives should carry now: its AI label if it has one; "digital
    creation" when a moderator published it without one; otherwise what detection found (with_source_type)."""
    if artwork.ai_label in SOURCE_TYPES:
        return replace(policy, digital_source_type=SOURCE_TYPES[artwork.ai_label])
    case = await session.scalar(select(ReviewCase).where(ReviewCase.artwork_id == artwork.id))
    if last_decision(case) == "publish":
        return policy
    return with_source_type(config, policy, verdict)


def last_decision(case: ReviewCase | None) -> str | None:
    """The moderator's standing decision on a case (a DECISIONS key), or None while it is open or absent. A
    decided case without a recorded decision (older rows) counts as "publish"."""
    if case is None or case.state != "decided":
        return None
    return next((e.action for e in reversed(case.events) if e.action in DECISIONS), "publish")


def artwork_verdict(artwork: Artwork) -> Verdict:
    """All images' evidence combined (each finding keeps which image it came from), and every image's coverage
    (which checks could have fired on it; tagged with the image's position when there are several)."""
    evidence, covered = [], []
    for position, image in enumerate(artwork.images, start=1):
        if image.asset.verdict:
            found = Verdict.from_json(image.asset.verdict)
            for item in found.evidence:
                evidence.append(item if len(artwork.images) == 1 else
                                type(item)(item.layer, f"image {position}: {item.finding}", item.weight, item.label,
                                           item.details))
            covered += [c if len(artwork.images) == 1 else {**c, "image": position} for c in found.coverage]
    return replace(Verdict.combine(evidence), coverage=tuple(covered))


def detection_ran(artwork: Artwork) -> bool:
    return all(image.asset.verdict is not None for image in artwork.images)


# --- policy when an artwork's images are ready ---------------------------------------------------------------


def _origin(artwork: Artwork) -> str:
    return "local" if artwork.account.is_local else "inbound"


def policy_action(config: Config, artwork: Artwork, verdict: Verdict) -> str:
    """accept | label | hold | reject for this verdict, or "none" when there is nothing to act on."""
    if verdict.label == NO_SIGNAL or verdict.score * 100 < config.detection.min_score_percent:
        return "none"
    return config.detection.local_policy if _origin(artwork) == "local" else config.detection.inbound_policy


async def apply_policy(ctx: Context, tx: Transaction, artwork: Artwork) -> str:
    """Decide where a fully processed artwork goes: "published", "held" or "rejected". Sets the label and
    opens (or follows) the review case. A moderator's earlier decision on this artwork stands."""
    case = await tx.session.scalar(select(ReviewCase).where(ReviewCase.artwork_id == artwork.id))
    if (decided := last_decision(case)) is not None:
        return DECISIONS[decided][0]
    verdict = artwork_verdict(artwork)
    action = policy_action(ctx.config, artwork, verdict)
    if action in ("none", "accept"):
        return "published"
    if action == "label":
        if artwork.ai_label_by != "moderator":
            artwork.ai_label, artwork.ai_label_by = verdict.label, "detection"
        return "published"
    state = "held" if action == "hold" else "rejected"
    note = (f"{_origin(artwork)} policy '{action}': {LABEL_TEXT[verdict.label]} signal, score "
            f"{verdict.score:.2f} ({len(verdict.evidence)} finding(s))")
    if case is None:
        case = ReviewCase(artwork=artwork, origin=_origin(artwork), reason=action, verdict=verdict.to_json())
        tx.session.add(case)
    case.state, case.verdict, case.decided_at = "open", verdict.to_json(), None
    case.events.append(ModerationEvent(action=state, note=note))
    return state


# --- queries --------------------------------------------------------------------------------------------------


async def open_cases(session, limit: int = 100) -> list[ReviewCase]:  # type: ignore[no-untyped-def]
    return list((await session.scalars(select(ReviewCase).where(ReviewCase.state == "open")
                                       .order_by(ReviewCase.opened_at).limit(limit))).unique().all())


async def recent_decisions(session, limit: int = 30) -> list[ModerationEvent]:  # type: ignore[no-untyped-def]
    return list((await session.scalars(select(ModerationEvent).where(ModerationEvent.actor_id.is_not(None),
                                                                   ModerationEvent.action.in_(DECISIONS))
                                       .options(selectinload(ModerationEvent.case))
                                       .order_by(ModerationEvent.id.desc()).limit(limit))).unique().all())


async def case_for(session, artwork_id: int) -> ReviewCase | None:  # type: ignore[no-untyped-def]
    return await session.scalar(select(ReviewCase).where(ReviewCase.artwork_id == artwork_id))


# --- people acting ----------------------------------------------------------------------------------------------


async def appeal(ctx: Context, account: Account, artwork_id: int, message: str) -> ReviewCase:
    """The artist questions a label, a hold or a rejection; a moderator sees it in the review queue."""
    message = message.strip()
    if not message:
        raise ValidationError({"message": "Say why the label or hold is wrong; moderators read this."})
    if len(message) > MAX_APPEAL:
        raise ValidationError({"message": f"Keep it under {MAX_APPEAL} characters."})
    async with ctx.transaction() as tx:
        artwork = await tx.session.get(Artwork, artwork_id)
        if artwork is None or artwork.account_id != account.id:
            raise NotFound("This artwork does not exist or is not yours.")
        if artwork.ai_label is None and artwork.state not in ("held", "rejected"):
            raise ValidationError({"message": "This artwork has no AI label and is not held: nothing to appeal."})
        case = await case_for(tx.session, artwork.id)
        if case is not None and case.state == "open" and case.appeal_message:
            raise ValidationError({"message": "Your appeal is already waiting for a moderator."})
        if case is None:
            case = ReviewCase(artwork=artwork, origin=_origin(artwork), reason="appeal",
                              verdict=artwork_verdict(artwork).to_json())
            tx.session.add(case)
        case.state, case.appeal_message, case.opened_at, case.decided_at = "open", message, utcnow(), None
        case.events.append(ModerationEvent(actor_id=account.id, action="appealed", note=message))
    return case


def _federate_decision(ctx: Context, tx: Transaction, artwork: Artwork, before: str, state: str) -> None:
    """What a decision on a local work changes outside this database: its files' XMP (the label may have
    changed) and the copies on followers' servers."""
    # A published work relabelled: the re-stamp sends the Update once the files carry the new label under their
    # new keys (one Update, naming the final URLs; also when no file changed).
    relabelled = state == before == "published"
    tx.after_commit(ctx.jobs.enqueue, tasks.RESTAMP_ARTWORK, artwork.id, relabelled)
    if state == "published" and before != "published":
        artwork.published_at = artwork.published_at or utcnow()
        if artwork.import_id is None:  # an imported work is never announced as new (services/media_pipeline.py)
            emit(ctx, tx, ArtworkPublished(artwork.id))
    elif state != "published" and before == "published":
        # Taken down: the copies on followers' servers go too (a Delete, as if the artist had deleted it).
        # Other servers keep a tombstone for that id, so a later release shows it here only.
        uri = ctx.url(urls.artwork(artwork.account.username, artwork.id))
        emit(ctx, tx, ArtworkDeleted(artwork.account_id, uri))
        tx.after_commit(public_media.sync_now, ctx, artwork.id)  # the store's public copies go now


async def decide(ctx: Context, moderator: Account, case_id: int, action: str, note: str = "") -> ReviewCase:
    """A moderator's decision: publish (no label), label, keep held, or reject. Logged with the note."""
    if not moderator.is_admin:
        raise PermissionDenied("Only moderators can decide review cases.")
    if action not in DECISIONS:
        raise ValidationError({"action": f"Choose one of: {', '.join(DECISIONS)}."})
    state, label = DECISIONS[action]
    async with ctx.transaction() as tx:
        case = await tx.session.get(ReviewCase, case_id)
        if case is None:
            raise NotFound("There is no such review case.")
        artwork = case.artwork
        before = artwork.state
        if artwork.state in ("processing", "failed"):
            raise ValidationError({"action": f"The artwork is {artwork.state}; decide once its images are ready."})
        if artwork.state != state:
            transition(artwork, state)
        artwork.ai_label, artwork.ai_label_by = (label, "moderator") if label else (None, None)
        case.events.append(ModerationEvent(actor_id=moderator.id, action=action, note=note.strip()[:2000]))
        audit.record(tx.session, moderator, f"review.{action}", f"artwork:{artwork.id}", note,
                     target_account=artwork.account)
        case.state, case.decided_at = ("open", None) if state == "held" else ("decided", utcnow())
        if artwork.account.is_local:
            _federate_decision(ctx, tx, artwork, before, state)
    return case
