"""Changing an artwork's images after upload: keep (in a new order), remove, add.

Called from `artworks.update_artwork` inside its transaction, so one edit is one change and one Update.
The artwork row stays the same, so its likes, comments, bookmarks and URL are kept. New images go through
the same protection pipeline as an upload: a published work goes back to "processing" until they are ready
(the state machine allows published -> processing for exactly this), then is published again and its
followers get an Update (services/media_pipeline.settle_artworks).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from cara_fed.context import Context, Transaction
from cara_fed.models import Artwork, ArtworkImage
from cara_fed.services.media import Upload, check_upload, delete_asset_files, store_original
from cara_fed.states import transition

MAX_ALT = 1500
# Held and rejected works wait on a moderator: swapping images there would step around the review.
EDITABLE_STATES = ("published", "processing", "failed")


@dataclass
class ImageEdit:
    keep: list[int]  # ids of the artwork's images to keep, in their new order; the others are removed
    add: list[Upload] = dataclass_field(default_factory=list)  # appended after the kept ones


def validate(ctx: Context, artwork: Artwork, edit: ImageEdit) -> dict[str, str]:
    """Everything that can be checked before anything is stored. Also sniffs the new files (raises)."""
    errors: dict[str, str] = {}
    current = {image.id for image in artwork.images}
    if len(set(edit.keep)) != len(edit.keep) or not set(edit.keep) <= current:
        errors["images"] = "The images to keep must be this artwork's own, each once."
    total = len(edit.keep) + len(edit.add)
    limit = ctx.config.media.max_images_per_artwork
    if total == 0:
        errors["images"] = "An artwork needs at least one image: keep one or add one."
    elif total > limit:
        errors["images"] = f"An artwork can have at most {limit} images (this edit would leave {total})."
    changed = edit.add or [image.id for image in artwork.images] != edit.keep
    if changed and artwork.state not in EDITABLE_STATES:
        errors["images"] = "This artwork is waiting for a moderator; its images can be changed after the review."
    for index, upload in enumerate(edit.add):
        if len(upload.alt_text) > MAX_ALT:
            errors[f"alt_{index}"] = f"Keep alt text under {MAX_ALT} characters."
    if not errors:
        for upload in edit.add:
            check_upload(ctx, upload, "images")
    return errors


async def apply(ctx: Context, tx: Transaction, artwork: Artwork, edit: ImageEdit) -> bool:
    """Reorder, drop and add inside the caller's transaction. Returns True when the work must be (re)processed
    before it is shown again (new files, or a failed work whose refused image was removed)."""
    current = {image.id: image for image in artwork.images}
    removed = [image for image in artwork.images if image.id not in edit.keep]
    if not edit.add and [i.id for i in artwork.images] == edit.keep:
        return False
    new = [ArtworkImage(asset=await store_original(ctx, tx, artwork.account_id, upload,
                                                   check_upload(ctx, upload, "images")),
                        alt_text=upload.alt_text.strip()) for upload in edit.add]
    artwork.images = [current[i] for i in edit.keep] + new  # delete-orphan drops the removed rows
    for position, image in enumerate(artwork.images):
        image.position = position
    # The asset rows and their files (private original, public derivatives, retired copies), once committed.
    for image in removed:  # files first: their query would flush a delete that the database then cascades
        await delete_asset_files(ctx, tx, image.asset)
    for image in removed:
        await tx.session.delete(image.asset)
    # The caller (services/artworks.update_artwork) stamps edited_at: image changes are content edits.
    if new or artwork.state == "failed":
        if artwork.state != "processing":
            transition(artwork, "processing")
        return True
    return False
