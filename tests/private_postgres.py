"""A private PostgreSQL server under a temporary directory, which a test may stop and restart."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import free_port


def _server_binaries() -> Path:
    """The newest installed PostgreSQL server's bin folder (Debian layout)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _server_binaries()


def _as_postgres(*command: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``command`` as the ``postgres`` user (PostgreSQL refuses to run as root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(
        [*prefix, *command], capture_output=True, text=True, timeout=timeout, check=True
    )


def private_postgres_missing() -> str | None:
    """Why a private server cannot be run here, or None."""
    if not (PG_BIN / "initdb").exists():
        return f"PostgreSQL server binaries not found under {PG_BIN}"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is needed to start PostgreSQL as the postgres user"
    return None


@dataclass
class PrivatePostgres:
    """initdb, start, stop and restart a throw-away cluster on its own loopback port."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="inkwell-pg-")))
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        """The cluster's data directory."""
        return self.folder / "data"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``inkwell`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/inkwell"

    def _pg_ctl(self, *arguments: str) -> None:
        """Run pg_ctl on this cluster."""
        _as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *arguments)

    def create(self) -> PrivatePostgres:
        """initdb (trust auth), start, and create the ``inkwell`` database."""
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        _as_postgres(
            str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self.start()
        _as_postgres(
            str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "inkwell",
        )  # fmt: skip
        return self

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._pg_ctl("-o", options, "-l", str(self.folder / "server.log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: disconnect every session, as a restart does)."""
        self._pg_ctl("-m", mode, "stop")

    def destroy(self) -> None:
        """Stop the server if it runs and remove its files."""
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self._pg_ctl("-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
