"""The `external` engine: an admin-configured command (Glaze, Mist, a script on a GPU box) does the work.

The command is a list of arguments (no shell) in which `{input}` and `{output}` are replaced by the paths of
a PNG we write and of the file the tool must write. A tool may print `progress 42%` (or `progress: 0.42`)
lines on stdout; we pass them on. Failures are reported, never silent: a non-zero exit, a timeout (the whole
process group is killed), no output, or an output that is not an image of the same size all raise CloakError
with the tool's last words. At most `concurrency` runs at once per process (GPU tools rarely share).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from protection.cloak.base import CloakCancelled, CloakError, CloakResult, CloakSettings, CloakUnavailable, Progress

_PROGRESS = re.compile(rb"progress[:=]?\s*([0-9]+(?:\.[0-9]+)?)\s*(%?)", re.IGNORECASE)
_POLL = 0.2
_semaphores: dict[tuple[str, ...], threading.BoundedSemaphore] = {}
_semaphores_lock = threading.Lock()


def _semaphore(command: tuple[str, ...], concurrency: int) -> threading.BoundedSemaphore:
    with _semaphores_lock:
        return _semaphores.setdefault(command, threading.BoundedSemaphore(concurrency))


class ExternalEngine:
    name = "external"

    def __init__(self, command: list[str] | tuple[str, ...], timeout: float = 600.0, concurrency: int = 1,
                 version: str = "") -> None:
        self.command = tuple(command)
        self.timeout = timeout
        self.concurrency = max(1, concurrency)
        # What the tool calls itself in reports and federation (e.g. "glaze-2.1"); default: its program name.
        self.version = version or (Path(self.command[0]).name if self.command else "")

    def unavailable_reason(self) -> str | None:
        if not self.command:
            return "no external cloaking command is configured ([cloak] external_command)"
        if not any("{output}" in arg for arg in self.command):
            return "the external cloaking command must name {output} (and usually {input}) among its arguments"
        if shutil.which(self.command[0]) is None:
            return f"the external cloaking command {self.command[0]!r} was not found or is not executable"
        return None

    def cloak(self, data: bytes, settings: CloakSettings, progress: Progress | None = None) -> CloakResult:
        reason = self.unavailable_reason()
        if reason:
            raise CloakUnavailable(reason)
        source = _decode(data, "the image to cloak")
        with _semaphore(self.command, self.concurrency), tempfile.TemporaryDirectory(prefix="cara-cloak-") as tmp:
            src, dst = Path(tmp) / "input.png", Path(tmp) / "output.png"
            src.write_bytes(data)
            args = [a.replace("{input}", str(src)).replace("{output}", str(dst))
                    .replace("{seed}", str(settings.seed)) for a in self.command]
            started = time.monotonic()
            stdout, stderr, code = self._run(args, Path(tmp), progress, started)
            seconds = round(time.monotonic() - started, 2)
            if code != 0:
                raise CloakError("tool_failed", f"the external cloaking tool exited with status {code}"
                                 + _last_words(stderr or stdout))
            if not dst.is_file() or dst.stat().st_size == 0:
                raise CloakError("no_output", "the external cloaking tool finished without writing its output"
                                 + _last_words(stderr or stdout))
            out = dst.read_bytes()
        result = _decode(out, "the external tool's output")
        if result.size != source.size:
            raise CloakError("bad_output", f"the external tool returned {result.width}x{result.height} pixels "
                             f"for a {source.width}x{source.height} image")
        if progress is not None:
            progress(1.0, 0.0)
        return CloakResult(out, {"engine": self.name, "version": self.version, "seconds": seconds,
                                 "changed": result.convert("RGB").tobytes() != source.convert("RGB").tobytes()})

    def _run(self, args: list[str], cwd: Path, progress: Progress | None,
             started: float) -> tuple[bytes, bytes, int]:
        proc = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)  # its own group: kill it whole
        chunks: dict[str, list[bytes]] = {"out": [], "err": []}
        last_fraction = [0.0]

        def pump(stream, key: str) -> None:  # type: ignore[no-untyped-def]
            for line in iter(stream.readline, b""):
                chunks[key].append(line)
                match = _PROGRESS.search(line) if key == "out" else None
                if match:
                    value = float(match.group(1))
                    last_fraction[0] = min(1.0, value / 100 if match.group(2) or value > 1 else value)

        readers = [threading.Thread(target=pump, args=(proc.stdout, "out"), daemon=True),
                   threading.Thread(target=pump, args=(proc.stderr, "err"), daemon=True)]
        for reader in readers:
            reader.start()
        try:
            while proc.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed > self.timeout:
                    _kill(proc)
                    raise CloakError("timeout", f"the external cloaking tool did not finish within "
                                     f"{self.timeout:g} s and was stopped")
                if progress is not None:
                    fraction = last_fraction[0]
                    eta = elapsed * (1 - fraction) / fraction if fraction > 0.01 else None
                    progress(fraction, eta)
                time.sleep(_POLL)
        except (CloakCancelled, KeyboardInterrupt):
            _kill(proc)
            raise
        except BaseException:
            _kill(proc)
            raise
        for reader in readers:
            reader.join(timeout=5)
        return b"".join(chunks["out"]), b"".join(chunks["err"]), proc.returncode


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _decode(data: bytes, what: str) -> Image.Image:
    try:
        im = Image.open(io.BytesIO(data))
        im.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise CloakError("bad_output", f"{what} is not a readable image ({exc})") from None
    return im


def _last_words(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return f": {text[-500:]}" if text else ""
