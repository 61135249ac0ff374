"""Structured logging: console and file, text or JSON, request id on every line."""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from flask import Flask, has_request_context, request

from app.hooks import REQUEST_ID_KEY
from config import Settings

# Fields a JSON line carries on top of the standard ones, when a record has them.
EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "client", "user_id")
_HANDLER_MARK = "_inkwell_handler"


def current_request_id() -> str:
    """The id of the request being served (chosen by EdgeHeaders), or '-' outside a request."""
    if has_request_context():
        return request.environ.get(REQUEST_ID_KEY, "-")
    return "-"


class RequestIdFilter(logging.Filter):
    """Attach the current request id to every record (once, though every handler asks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in record.__dict__:
            record.request_id = current_request_id()
        return True


class OncePerRecordFormatter(logging.Formatter):
    """Format a record once: the console and the file handler share the formatted line."""

    def format(self, record: logging.LogRecord) -> str:
        line = record.__dict__.get("_inkwell_line")
        if line is None:
            line = record._inkwell_line = self.format_line(record)
        return line

    def format_line(self, record: logging.LogRecord) -> str:
        """The record as one line."""
        raise NotImplementedError


_last_second: tuple[int, str] = (-1, "")


def _utc_timestamp(record: logging.LogRecord) -> str:
    """``2026-11-28T08:00:52.693Z``: ISO 8601 in UTC, to the millisecond."""
    global _last_second
    second, cached = int(record.created), _last_second
    if cached[0] != second:  # formatting the date once per second is enough
        cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
        _last_second = cached
    return f"{cached[1]}.{int(record.msecs):03d}Z"


class TextFormatter(OncePerRecordFormatter):
    """One physical line per record, ``<UTC time> <level> <logger> [<request id>] <message>``:
    CR and LF are escaped so no value can forge a line."""

    def format_line(self, record: logging.LogRecord) -> str:
        """The text line, with backslashes, CR and LF escaped."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        request_id = getattr(record, "request_id", "-")
        line = f"{_utc_timestamp(record)} {record.levelname} {record.name} [{request_id}] {message}"
        return line.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class JsonFormatter(OncePerRecordFormatter):
    """One JSON object per line."""

    def format_line(self, record: logging.LogRecord) -> str:
        """The record as a JSON object."""
        entry = {
            "time": _utc_timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        for field in EXTRA_FIELDS:
            if hasattr(record, field):
                entry[field] = getattr(record, field)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ConsoleAndFileHandler(logging.handlers.WatchedFileHandler):
    """The console and the log file in one handler: each record is filtered, formatted,
    encoded and locked once, then written to both with one system call each.

    As a WatchedFileHandler it reopens the file when logrotate has renamed it. The file is
    opened for appending and each line is a single unbuffered write, so several workers
    can share it and a killed worker loses no line it has logged.
    """

    def __init__(self, path: Path, console: TextIO) -> None:
        super().__init__(path, encoding="utf-8")
        self.console = console
        try:
            self.console_descriptor: int | None = console.fileno()
        except (AttributeError, OSError, ValueError):  # a console stream without a file
            self.console_descriptor = None

    def emit(self, record: logging.LogRecord) -> None:
        """Write the line to the console, then append it to the file (even if the console
        failed)."""
        try:
            text = self.format(record) + self.terminator
            line = text.encode("utf-8", "backslashreplace")
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
            return
        try:
            if self.console_descriptor is None:
                self.console.write(text)
                self.console.flush()
            else:
                _write_all(self.console_descriptor, line)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)
        try:
            self.reopenIfNeeded()
            if self.stream is None:
                self.stream = self._open()
            _write_all(self.stream.fileno(), line)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


def _write_all(descriptor: int, data: bytes) -> None:
    """Write all of ``data`` (a pipe may take it in parts; a file takes it at once)."""
    written = os.write(descriptor, data)
    while written < len(data):
        data = data[written:]
        written = os.write(descriptor, data)


def _build_handlers(settings: Settings) -> list[logging.Handler]:
    if not settings.log_file:
        return [logging.StreamHandler(sys.stderr)]
    path = Path(settings.log_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    return [ConsoleAndFileHandler(path, sys.stderr)]


def skip_unused_record_fields() -> None:
    """Stop computing record fields no Inkwell line shows: the caller, thread and process name.

    The switches the logging HOWTO lists under "Optimization"; they save work on every
    record, and the access log writes one per request.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def configure_logging(app: Flask, settings: Settings) -> None:
    """Install the console and file handlers on the root logger (replacing earlier ones)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = JsonFormatter() if settings.log_format == "json" else TextFormatter()
    request_id_filter = RequestIdFilter()
    for handler in _build_handlers(settings):
        setattr(handler, _HANDLER_MARK, True)
        handler.setFormatter(formatter)
        handler.addFilter(request_id_filter)
        handler.setLevel(settings.log_level)
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    skip_unused_record_fields()
    app.logger.handlers.clear()
    app.logger.propagate = True
    # DEBUG echoes SQL statements through these same handlers.
    logging.getLogger("sqlalchemy.engine").setLevel(
        logging.INFO if settings.debug else logging.WARNING
    )
    for chatty in ("werkzeug", "alembic.runtime.plugins"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
