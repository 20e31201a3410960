"""Reading HTML form posts into service inputs."""

from __future__ import annotations

import math

from aiohttp import web
from multidict import MultiDictProxy

from cara_fed.numbers import parse_id, parse_ids
from cara_fed.services.artwork_images import ImageEdit
from cara_fed.services.artworks import ArtworkInput
from cara_fed.services.media import Upload
from cara_fed.services.upload_drafts import Draft


def text(form: MultiDictProxy, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


def checkbox(form: MultiDictProxy, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def artwork_input(form: MultiDictProxy) -> ArtworkInput:
    return ArtworkInput(
        title=text(form, "title"), description=text(form, "description"), tags=text(form, "tags").split(","),
        field=text(form, "field"), medium=text(form, "medium"),
        software=[s for s in text(form, "software").split(",") if s.strip()],
        content_warning=text(form, "content_warning"), sensitive=checkbox(form, "sensitive"),
        license=text(form, "license", "all-rights-reserved"), visibility=text(form, "visibility", "public"),
        noai=checkbox(form, "noai"), cloak=checkbox(form, "cloak"))


def uploads(form: MultiDictProxy, name: str = "images") -> list[Upload]:
    """Files in form order, each paired with the alt text field of the same index (alt_0, alt_1, …)."""
    files = [f for f in form.getall(name, []) if isinstance(f, web.FileField) and f.filename]
    return [Upload(data=f.file.read(), filename=f.filename, alt_text=text(form, f"alt_{i}"))
            for i, f in enumerate(files)]


def kept_images(form: MultiDictProxy) -> tuple[list[Draft], list[int]]:
    """The images a refused upload form kept (repeated `draft` ids, in order, each with `alt_draft_{id}`): those
    still wanted, and the ids the artist ticked `remove_draft_{id}` on."""
    ids = list(dict.fromkeys(int_values(form.getall("draft", []))))
    removed = [i for i in ids if checkbox(form, f"remove_draft_{i}")]
    return [Draft(i, "", text(form, f"alt_draft_{i}")) for i in ids if i not in removed], removed


def path_id(request: web.Request, name: str) -> int:
    """An id from the URL path; one that cannot name a row (Unicode digits, past int4) is a 404, not a 500."""
    number = parse_id(request.match_info.get(name, ""))
    if number is None:
        raise web.HTTPNotFound(text="There is nothing here (the address names no such item).")
    return number


def int_values(values: list) -> list[int]:
    """The valid ids among repeated form fields (checkboxes), ignoring anything else."""
    return parse_ids([v for v in values if isinstance(v, str)])


def image_edit(form: MultiDictProxy, image_ids: list[int]) -> ImageEdit | None:
    """The edit form's image changes: `order_image_{id}` (1, 2, …) reorders, `remove_image_{id}` drops, new files
    in `images` (with alt_0, alt_1, …) are appended. None when the form says nothing about images (older forms,
    scripts): they stay as they are."""
    added = uploads(form)
    named = any(f"order_image_{i}" in form or f"remove_image_{i}" in form for i in image_ids)
    if not named and not added:
        return None

    def place(index_id: tuple[int, int]) -> tuple[float, int]:
        raw = text(form, f"order_image_{index_id[1]}").strip()
        try:
            return float(raw), index_id[0]
        except ValueError:  # blank or not a number: keep its place
            return index_id[0] + 1, index_id[0]

    kept = [(n, i) for n, i in enumerate(image_ids) if not checkbox(form, f"remove_image_{i}")]
    return ImageEdit(keep=[i for _n, i in sorted(kept, key=place)], add=added)


def image_focus(form: MultiDictProxy, image_ids: list[int]) -> dict[int, tuple[float, float] | None]:
    """The edit form's thumbnail focus per image: `focus_image_{id}` = "x,y" (Mastodon's focus, -1..1 each).
    None for a value that is not two finite numbers (the service refuses it, as it does out-of-range ones)."""
    found: dict[int, tuple[float, float] | None] = {}
    for image_id in image_ids:
        if f"focus_image_{image_id}" not in form:
            continue
        parts = text(form, f"focus_image_{image_id}").split(",")
        try:
            x, y = (float(part) for part in parts)
        except ValueError:  # not a number, or not exactly two of them
            found[image_id] = None
            continue
        found[image_id] = (x, y) if math.isfinite(x) and math.isfinite(y) else None
    return found
