"""Structured logging: console and file, text or JSON, the request id on every line.

The standard library does the work: a ``StreamHandler`` on stderr and, when ``LOG_FILE``
is set, a ``WatchedFileHandler`` (it reopens the file after logrotate renames it; the
file is opened for appending, so several gunicorn workers can share it). Both handlers
share one formatter, :class:`TextFormatter` or :class:`JsonFormatter`, and one filter
that stamps each record with the id of the request being served.

No control character from a request reaches a line raw: text lines show them as visible
escapes, JSON lines as ``\\uXXXX`` escapes, so a request can neither forge a line nor
drive a terminal.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import time
from pathlib import Path

from app.context import current_request_id
from config import Settings

__all__ = [
    "JsonFormatter",
    "RequestIdFilter",
    "TextFormatter",
    "configure_logging",
    "escape_controls",
    "escape_json_controls",
]

# Fields a JSON line carries on top of the standard ones, when a record has them.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "client", "user_id")
# Names of the handlers configure_logging installs, so that a later call replaces them.
CONSOLE_HANDLER = "inkwell.console"
FILE_HANDLER = "inkwell.file"
INKWELL_HANDLERS = (CONSOLE_HANDLER, FILE_HANDLER)

# C0 (U+0000-U+001F), DEL, C1 (U+0080-U+009F) and the Unicode line and paragraph separators:
# each can end a line or steer a terminal.
CONTROL_CODES = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_SHORT_ESCAPES = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
# Text lines: the backslash doubled (so escapes stay unambiguous), \n \r \t by name, the
# other controls as \xNN, the separators as \uNNNN.
TEXT_ESCAPES = {ord("\\"): "\\\\"} | {
    code: _SHORT_ESCAPES.get(code, f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    for code in CONTROL_CODES
}
# JSON lines: json.dumps escapes C0 already; with ensure_ascii=False it leaves DEL, C1 and
# the separators raw. They can only occur inside JSON strings, where \uNNNN is valid.
JSON_ESCAPES = {code: f"\\u{code:04x}" for code in CONTROL_CODES if code >= 0x7F}


def escape_controls(text: str) -> str:
    """``text`` with every control character (and the backslash) as a visible escape."""
    return text.translate(TEXT_ESCAPES)


def escape_json_controls(serialised: str) -> str:
    """A ``json.dumps`` result with the control characters it leaves raw escaped."""
    return serialised.translate(JSON_ESCAPES)


class RequestIdFilter(logging.Filter):
    """Attach the id of the request being served (``-`` outside one) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp ``record`` with the request id unless it carries one already."""
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class UtcFormatter(logging.Formatter):
    """Timestamps in UTC as ISO 8601 with milliseconds: ``2026-11-28T08:00:52.693Z``."""

    converter = time.gmtime
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def exception_text(self, record: logging.LogRecord) -> str | None:
        """The record's traceback and stack as text, if it has any."""
        parts = []
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(self.formatStack(record.stack_info))
        return "\n".join(parts) or None


class TextFormatter(UtcFormatter):
    """One physical line per record: ``<UTC time> <level> <logger> [<request id>] <message>``
    (a traceback follows the message on the same line)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one escaped text line."""
        message = record.getMessage()
        details = self.exception_text(record)
        if details:
            message = f"{message}\n{details}"
        request_id = getattr(record, "request_id", "-")
        stamp = self.formatTime(record)
        return escape_controls(f"{stamp} {record.levelname} {record.name} [{request_id}] {message}")


class JsonFormatter(UtcFormatter):
    """One JSON object per line: time, level, logger, request id, message, the access
    fields when the record has them, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line with no raw control character."""
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for name in EXTRA_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        details = self.exception_text(record)
        if details:
            entry["exception"] = details
        return escape_json_controls(json.dumps(entry, ensure_ascii=False, default=str))


def build_handlers(settings: Settings) -> list[logging.Handler]:
    """The console handler and, when LOG_FILE is set, the file handler (folder created)."""
    console = logging.StreamHandler(sys.stderr)
    console.set_name(CONSOLE_HANDLER)
    handlers: list[logging.Handler] = [console]
    if settings.log_file:
        path = Path(settings.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        # backslashreplace: a value that cannot be encoded still yields its line.
        file_handler = logging.handlers.WatchedFileHandler(
            path, encoding="utf-8", errors="backslashreplace"
        )
        file_handler.set_name(FILE_HANDLER)
        handlers.append(file_handler)
    return handlers


def configure_logging(settings: Settings) -> None:
    """Install Inkwell's handlers on the root logger, replacing those of an earlier call."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() in INKWELL_HANDLERS]:
        root.removeHandler(handler)
        handler.close()
    formatter = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    request_id_filter = RequestIdFilter()
    for handler in build_handlers(settings):
        handler.setFormatter(formatter)
        handler.addFilter(request_id_filter)
        handler.setLevel(settings.log_level)
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # No Inkwell line shows the thread or process name: the logging HOWTO's switches to
    # skip computing them for every record.
    logging.logThreads = False
    logging.logMultiprocessing = False
    # DEBUG echoes SQL statements through these same handlers.
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if settings.debug else logging.WARNING
    )
    for chatty in ("werkzeug", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
