"""Log lines reach console and file, carry the request id, and cannot be forged."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from pathlib import Path
from urllib.parse import quote

from app import create_app

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z [A-Z]+ [\w.-]+ \[[^\]]+\] .*$")


def read_lines(path: str) -> list[str]:
    """The lines of the log file at ``path``."""
    return Path(path).read_text(encoding="utf-8").splitlines()


def lines_of_one_request(make_settings, path: str, request_id: str) -> list[str]:
    """Serve one GET of ``path`` by a new app; the log file's lines of that request."""
    app = create_app(make_settings())
    log_path = app.extensions["inkwell.settings"].log_file
    app.test_client().get(path, headers={"X-Request-ID": request_id})
    return [line for line in read_lines(log_path) if f"[{request_id}]" in line]


def test_access_line_reaches_file_and_console_with_request_id(make_settings, capfd):
    file_lines = lines_of_one_request(make_settings, "/api/v1/", "trace-me-123")
    assert len(file_lines) == 1
    assert "inkwell.access" in file_lines[0]
    assert "GET /api/v1/ 200" in file_lines[0]
    assert re.search(r" \d+\.\d\dms client=127\.0\.0\.1 user=-$", file_lines[0])
    console = capfd.readouterr().err
    assert file_lines[0] in console


def test_every_file_line_has_timestamp_level_logger_and_request_id(client, log_path):
    client.get("/")
    client.get("/api/v1/missing")
    lines = read_lines(log_path)
    assert lines
    for line in lines:
        assert LINE.match(line), line


def test_start_up_line_names_app_version_and_backend(log_path):
    first = read_lines(log_path)[0]
    assert "Inkwell 0.1.0 starting" in first
    assert "database=sqlite" in first or "database=postgresql" in first
    assert "rate_limit_storage=memory" in first


def test_log_file_directory_is_created(make_settings, tmp_path):
    target = tmp_path / "deep" / "nested" / "app.log"
    create_app(make_settings(log_file=str(target)))
    assert target.exists()


def test_crlf_in_a_path_cannot_forge_a_line(client, log_path):
    forged = "2026-01-01T00:00:00.000Z INFO inkwell.access [x] GET /admin 200"
    client.get("/nothing%0d%0a" + forged.replace(" ", "%20"))
    lines = read_lines(log_path)
    assert not any(line.startswith("2026-01-01T00:00:00.000Z") for line in lines)
    assert any("\\r\\n2026-01-01T00:00:00.000Z" in line for line in lines)


def test_password_in_a_request_body_is_never_logged(client, log_path):
    client.post("/api/v1/", json={"username": "ann", "password": "Sup3r-Secret-Passw0rd"})
    client.post("/nothing", data={"password": "Sup3r-Secret-Passw0rd"})
    assert "Sup3r-Secret-Passw0rd" not in Path(log_path).read_text()


def test_authorization_header_and_token_are_never_logged(client, log_path):
    client.get("/api/v1/", headers={"Authorization": "Bearer abc.def.ghi-secret-token"})
    assert "abc.def.ghi-secret-token" not in Path(log_path).read_text()


def test_warning_level_drops_access_lines(make_settings):
    app = create_app(make_settings(log_level="warning"))
    app.test_client().get("/api/v1/")
    text = Path(app.extensions["inkwell.settings"].log_file).read_text()
    assert "inkwell.access" not in text
    assert "GET /api/v1/" not in text


def test_json_format_writes_one_object_per_line(make_settings):
    app = create_app(make_settings(log_format="json"))
    app.test_client().get("/api/v1/", headers={"X-Request-ID": "json-line-1"})
    entries = [json.loads(line) for line in read_lines(app.extensions["inkwell.settings"].log_file)]
    access = [entry for entry in entries if entry["logger"] == "inkwell.access"]
    assert len(access) == 1
    entry = access[0]
    assert entry["request_id"] == "json-line-1"
    assert entry["level"] == "INFO"
    assert entry["time"].endswith("Z")
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/api/v1/", 200)
    assert entry["duration_ms"] >= 0


def test_empty_log_file_setting_logs_to_console_only(make_settings, tmp_path, capfd):
    app = create_app(make_settings(log_file=""))
    app.test_client().get("/api/v1/", headers={"X-Request-ID": "console-only"})
    assert "[console-only]" in capfd.readouterr().err
    assert not list(tmp_path.rglob("*.log"))


def test_secret_key_never_appears_in_logs_or_pages(app, client, log_path):
    secret = app.config["SECRET_KEY"]
    page = client.get("/").get_data(as_text=True) + client.get("/health").get_data(as_text=True)
    assert secret not in page
    assert secret not in Path(log_path).read_text()


def test_a_console_stream_without_a_file_still_gets_every_line(make_settings, monkeypatch):
    console = io.StringIO()
    monkeypatch.setattr(sys, "stderr", console)
    file_lines = lines_of_one_request(make_settings, "/api/v1/", "to-a-string-console")
    assert len(file_lines) == 1
    assert file_lines[0] in console.getvalue().splitlines()


def test_non_ascii_values_are_logged_as_utf8(make_settings, capfd):
    file_lines = lines_of_one_request(make_settings, "/api/v1/caf\u00e9-\u2603", "utf8-path")
    assert len(file_lines) == 1
    assert "/api/v1/caf\u00e9-\u2603 404" in file_lines[0]
    assert file_lines[0] in capfd.readouterr().err


def test_a_failing_console_does_not_cost_the_file_its_line(make_settings, monkeypatch):
    class BrokenConsole(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError("console is gone")

    monkeypatch.setattr(sys, "stderr", BrokenConsole())
    monkeypatch.setattr(logging, "raiseExceptions", False)
    assert len(lines_of_one_request(make_settings, "/api/v1/", "console-broken")) == 1


CONTROLS = "".join(
    chr(code) for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
)
NAMED_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def visible(character: str) -> str:
    """How a text line shows a control character."""
    code = ord(character)
    if character in NAMED_ESCAPES:
        return NAMED_ESCAPES[character]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def raw_lines(path: str) -> list[bytes]:
    """The log file's lines, split only where a line really ends."""
    data = Path(path).read_bytes()
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def raw_controls(line: bytes) -> list[str]:
    """The control characters of ``line`` that were written raw."""
    return [character for character in line.decode("utf-8") if character in CONTROLS]


def request_with_controls(make_settings, **overrides) -> tuple[str, str]:
    """Serve a path holding every control character; the log file and that path."""
    app = create_app(make_settings(**overrides))
    path = "/api/v1/ctl-" + CONTROLS + "-end"
    app.test_client().get(quote(path), headers={"X-Request-ID": "controls"})
    return app.extensions["inkwell.settings"].log_file, path


def test_every_control_character_in_a_request_is_escaped_in_text_lines(make_settings):
    log_file, _ = request_with_controls(make_settings)
    lines = raw_lines(log_file)
    assert all(raw_controls(line) == [] for line in lines)
    (access,) = [line.decode() for line in lines if b"inkwell.access [controls]" in line]
    assert "/api/v1/ctl-" + "".join(visible(c) for c in CONTROLS) + "-end 404" in access


def test_every_control_character_in_a_request_is_escaped_in_json_lines(make_settings):
    log_file, path = request_with_controls(make_settings, log_format="json")
    lines = raw_lines(log_file)
    assert all(raw_controls(line) == [] for line in lines)
    entries = [json.loads(line) for line in lines]
    (access,) = [entry for entry in entries if entry["logger"] == "inkwell.access"]
    assert access["path"] == path
    assert access["status"] == 404


def test_a_backslash_is_doubled_so_escapes_stay_unambiguous(make_settings):
    app = create_app(make_settings())
    logging.getLogger("inkwell.test").warning("a real \\n and a newline\n")
    text = Path(app.extensions["inkwell.settings"].log_file).read_text(encoding="utf-8")
    assert "a real \\\\n and a newline\\n" in text


def test_a_traceback_stays_on_the_line_of_its_message(make_settings):
    app = create_app(make_settings())
    try:
        raise ValueError("broken\x1b[31m")
    except ValueError:
        logging.getLogger("inkwell.test").exception("it failed")
    lines = raw_lines(app.extensions["inkwell.settings"].log_file)
    (failed,) = [line.decode() for line in lines if b"it failed" in line]
    assert "Traceback (most recent call last):" in failed
    assert "ValueError: broken\\x1b[31m" in failed
    assert all(raw_controls(line) == [] for line in lines)


def test_json_exception_is_one_field_of_one_line(make_settings):
    app = create_app(make_settings(log_format="json"))
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("inkwell.test").exception("it failed")
    entries = [json.loads(line) for line in raw_lines(app.extensions["inkwell.settings"].log_file)]
    (failed,) = [entry for entry in entries if entry["message"] == "it failed"]
    assert failed["exception"].endswith("ValueError: broken")


def test_a_new_app_replaces_the_log_handlers_of_the_last(make_settings, tmp_path):
    first = create_app(make_settings(log_file=str(tmp_path / "first.log")))
    create_app(make_settings(log_file=str(tmp_path / "second.log")))
    first.test_client().get("/api/v1/", headers={"X-Request-ID": "after-rebuild"})
    assert "[after-rebuild]" not in (tmp_path / "first.log").read_text()
    assert (tmp_path / "second.log").read_text().count("[after-rebuild]") == 1


def test_log_file_is_reopened_after_rotation(make_settings, tmp_path):
    log_file = tmp_path / "rotated.log"
    app = create_app(make_settings(log_file=str(log_file)))
    log_file.rename(tmp_path / "rotated.log.1")
    app.test_client().get("/api/v1/", headers={"X-Request-ID": "after-rotation"})
    assert "[after-rotation]" in log_file.read_text()
    assert "[after-rotation]" not in (tmp_path / "rotated.log.1").read_text()


def test_access_line_names_the_user_of_a_valid_token(app, client, log_path, make_user):
    from tests.api_helpers import auth_headers

    user = make_user("logged")
    headers = {**auth_headers(app, user), "X-Request-ID": "who-am-i"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    (access,) = [line for line in read_lines(log_path) if "[who-am-i]" in line]
    assert access.endswith(f"client=127.0.0.1 user={user.id}")
