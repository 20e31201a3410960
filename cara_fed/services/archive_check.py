"""Checking a portfolio archive before anything is created (issue 18, "Bad input").

A zip is refused whole, with one plain message, when it: is not a zip; holds more than [portability]
archive_max_entries files; declares more than archive_max_uncompressed_mb unpacked, or unpacks to more (sizes in
the directory can lie, so the bytes are counted while reading); has a file compressed more than archive_max_ratio
times (zip bombs); names a path outside the archive (absolute, `..`, drive letters, backslashes) or holds a
symlink; has a missing, malformed or unknown-version manifest.json; or describes a work we could not recreate
(unknown field, licence or medium, a missing or non-image original, a checksum that does not match). Only then
does the import create anything."""

from __future__ import annotations

import hashlib
import json
import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cara_fed.config import PortabilityConfig
from cara_fed.errors import ValidationError
from cara_fed.services.archive_export import FORMAT, MANIFEST, VERSION
from cara_fed.services.artworks import MAX_ALT, ArtworkInput, validate

MANIFEST_MAX = 64 * 1024 * 1024
RATIO_FLOOR = 1024 * 1024  # small files (JSON) may compress well; the ratio cap applies above this size
CHUNK = 1024 * 1024


def refuse(message: str) -> ValidationError:
    return ValidationError({"archive": message})


@dataclass
class CheckedArchive:
    manifest: dict[str, Any]
    works: list[dict[str, Any]]


def _unsafe_name(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part in ("..", ".") for part in name.split("/") if part) or "//" in name


def _entries(archive: zipfile.ZipFile, limits: PortabilityConfig) -> dict[str, zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > limits.archive_max_entries:
        raise refuse(f"This archive holds {len(infos):,} files; at most {limits.archive_max_entries:,} are allowed.")
    cap = limits.archive_max_uncompressed_mb * 1024 * 1024
    declared, names = 0, {}
    for info in infos:
        if _unsafe_name(info.filename):
            raise refuse(f"The archive names an unsafe path (“{info.filename[:100]}”): refused.")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise refuse(f"The archive holds a symbolic link (“{info.filename[:100]}”): refused.")
        if info.filename in names:
            raise refuse(f"The archive holds “{info.filename[:100]}” twice: refused.")
        if info.flag_bits & 0x1:
            raise refuse("The archive is encrypted; export it again without a password.")
        declared += info.file_size
        if info.file_size > RATIO_FLOOR and info.file_size > limits.archive_max_ratio * max(info.compress_size, 1):
            raise refuse(f"“{info.filename[:100]}” is compressed more than {limits.archive_max_ratio}:1, "
                         "which no image is: this looks like a zip bomb, refused.")
        names[info.filename] = info
    if declared > cap:
        raise refuse(f"This archive would unpack to {declared // (1024 * 1024):,} MiB; at most "
                     f"{limits.archive_max_uncompressed_mb:,} MiB are allowed.")
    return names


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: list[int]) -> bytes:
    """The file's bytes, counted while reading: more than it declared, or past the archive's remaining budget,
    is refused (a lying directory), as is a damaged file (zipfile checks the CRC at the end)."""
    parts, size = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(CHUNK):
                size += len(chunk)
                budget[0] -= len(chunk)
                if size > info.file_size or budget[0] < 0:
                    raise refuse(f"“{info.filename[:100]}” unpacks to more than the archive says: refused.")
                parts.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
        raise refuse(f"“{info.filename[:100]}” is damaged ({exc}): refused.") from None
    if size != info.file_size:
        raise refuse(f"“{info.filename[:100]}” is not the size the archive says: refused.")
    return b"".join(parts)


def _manifest(archive: zipfile.ZipFile, names: dict[str, zipfile.ZipInfo], budget: list[int]) -> dict[str, Any]:
    info = names.get(MANIFEST)
    if info is None:
        raise refuse("This is not a cara-fed portfolio archive: it has no manifest.json.")
    if info.file_size > MANIFEST_MAX:
        raise refuse("manifest.json is too large.")
    try:
        manifest = json.loads(read_member(archive, info, budget))
    except (ValueError, UnicodeDecodeError):
        raise refuse("manifest.json is not valid JSON: the archive is damaged or was edited.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise refuse("This is not a cara-fed portfolio archive (manifest.json names another format).")
    if manifest.get("version") != VERSION:
        raise refuse(f"This archive is version {str(manifest.get('version'))[:20]}; this server reads version "
                     f"{VERSION}. Export it again from a server of the same version, or update this one.")
    if not isinstance(manifest.get("works"), list):
        raise refuse("manifest.json lists no works.")
    return manifest


def _date(value: Any, what: str) -> None:
    if value is None:
        return
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise refuse(f"{what}: “{str(value)[:40]}” is not a date.") from None


def artwork_input(work: dict[str, Any]) -> ArtworkInput:
    def text(key: str) -> str:
        value = work.get(key, "")
        if not isinstance(value, str):
            raise refuse(f"Work {work.get('id')}: “{key}” must be text.")
        return value

    tags, software = work.get("tags", []), work.get("software", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise refuse(f"Work {work.get('id')}: tags must be a list of words.")
    if not isinstance(software, list) or not all(isinstance(s, str) for s in software):
        raise refuse(f"Work {work.get('id')}: software must be a list of names.")
    return ArtworkInput(title=text("title"), description=text("description"), tags=tags, field=text("field"),
                        medium=text("medium"), software=software, content_warning=text("content_warning"),
                        sensitive=bool(work.get("sensitive")), license=text("license") or "all-rights-reserved",
                        visibility=text("visibility") or "public", noai=work.get("noai") is not False,
                        cloak=bool(work.get("cloak")))


def _check_work(work: Any, names: dict[str, zipfile.ZipInfo], max_images: int, max_image_bytes: int) -> None:
    if not isinstance(work, dict) or not isinstance(work.get("images"), list):
        raise refuse("manifest.json: every work needs its images.")
    label = f"Work {str(work.get('id'))[:20]} (“{str(work.get('title'))[:60]}”)"
    errors = validate(artwork_input(work))
    if errors:
        raise refuse(f"{label}: {next(iter(errors.values()))}")
    if not work["images"] or len(work["images"]) > max_images:
        raise refuse(f"{label}: a work has 1 to {max_images} images.")
    for key in ("created_at", "published_at", "edited_at", "pinned_at"):
        _date(work.get(key), label)
    if work.get("ai_label") not in (None, "ai_generated", "ai_assisted") or work.get("ai_label_by") not in (
            None, "detection", "moderator", "remote"):
        raise refuse(f"{label}: unknown AI label.")
    for image in work["images"]:
        if not isinstance(image, dict) or not isinstance(image.get("file"), str) or image["file"] not in names:
            raise refuse(f"{label}: an original named in manifest.json is missing from the archive.")
        if names[image["file"]].file_size > max_image_bytes:  # checked before reading: originals are read whole
            raise refuse(f"{label}: “{image['file'][:100]}” is larger than this server's upload limit "
                         f"({max_image_bytes // (1024 * 1024)} MiB).")
        if not isinstance(image.get("alt_text", ""), str) or len(image.get("alt_text", "")) > MAX_ALT:
            raise refuse(f"{label}: alt text must be text under {MAX_ALT} characters.")
        point = image.get("focal_point", [0, 0])
        if (not isinstance(point, list) or len(point) != 2 or not all(isinstance(v, int | float) for v in point)
                or not all(-1 <= v <= 1 for v in point)):
            raise refuse(f"{label}: a focal point must be two numbers from -1 to 1.")


def check_archive(path: Path, limits: PortabilityConfig, max_images: int, max_image_bytes: int,
                  check_image: Any = None) -> CheckedArchive:
    """Everything but the image contents, plus each original's size and checksum; `check_image(bytes, label)`
    (the upload pipeline's own check) is called on every original. Raises ValidationError({"archive": ...})."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        raise refuse("This is not a zip archive.") from None
    with archive:
        names = _entries(archive, limits)
        budget = [limits.archive_max_uncompressed_mb * 1024 * 1024]
        manifest = _manifest(archive, names, budget)
        for work in manifest["works"]:
            _check_work(work, names, max_images, max_image_bytes)
        for work in manifest["works"]:
            for image in work["images"]:
                data = read_member(archive, names[image["file"]], budget)
                if isinstance(image.get("sha256"), str) and hashlib.sha256(data).hexdigest() != image["sha256"]:
                    raise refuse(f"“{image['file'][:100]}” does not match its checksum: the archive is damaged.")
                if check_image is not None:
                    check_image(data, image["file"])
    return CheckedArchive(manifest, manifest["works"])
