"""Malformed HTTP requests are the client's fault: log them as one line, not as an ERROR traceback.

Why: aiohttp answers a request line over 8 KB, an oversized header or a broken request with a 400 by itself,
but logs each as ERROR with a full traceback, so anyone can fill the log with "errors" that are not ours.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER = "aiohttp.server"


class ClientErrorsAsWarnings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and 400 <= (error.code or 400) < 500:
            reason = str(error.message or error.__class__.__name__).splitlines()[0][:120]
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "refused a malformed request from %s (%s %s)", (
                *(record.args if isinstance(record.args, tuple) else ())[:1], error.code, reason)
            record.exc_info, record.exc_text = None, None
        return True


def quiet_client_errors() -> None:
    """Install the filter once on aiohttp's server logger."""
    logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(f, ClientErrorsAsWarnings) for f in logger.filters):
        logger.addFilter(ClientErrorsAsWarnings())
