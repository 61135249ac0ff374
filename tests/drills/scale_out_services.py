"""Real PgBouncer and a Redis primary with a replica and Sentinels, on private loopback ports.

Each class starts its processes under a temporary folder and stops them in ``stop()``
(use them as context managers). A missing ``pgbouncer``, ``redis-server`` or
``redis-sentinel`` skips the test locally and fails it in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.conftest import service_missing
from tests.servers import START_TIMEOUT_SECONDS, free_port, wait_until

#: The name under which the Sentinels monitor the Redis primary.
SENTINEL_SERVICE = "inkwell"
#: How long Sentinel waits before it calls an unanswering primary down (ms).
SENTINEL_DOWN_AFTER_MS = 1000
STOP_TIMEOUT_SECONDS = 10


def executable(name: str) -> str:
    """The path of ``name`` on PATH or in /usr/sbin (skipped locally, failed in CI if absent)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        service_missing(name)
    return str(found)


def stop_process(process: subprocess.Popen | None) -> None:
    """SIGTERM ``process`` and wait; SIGKILL if it does not exit in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


@dataclass
class PgBouncer:
    """PgBouncer in transaction pooling mode in front of one PostgreSQL database (trust auth).

    ``restart()`` stops it at once (SIGTERM: PgBouncer's immediate shutdown, every client
    connection dropped) and starts it again on the same port.
    """

    workdir: Path
    database: str
    server_host: str = "127.0.0.1"
    server_port: int = 5432
    user: str = "postgres"
    pool_size: int = 8
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def url(self, database: str | None = None) -> str:
        """The PostgreSQL URL of ``database`` (default: the pooled one) through PgBouncer."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database or self.database}"

    @property
    def log_path(self) -> Path:
        """PgBouncer's log."""
        return self.workdir / "pgbouncer.log"

    def write_config(self) -> Path:
        """pgbouncer.ini and its user list, readable by the user PgBouncer runs as."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        users = self.workdir / "userlist.txt"
        users.write_text(f'"{self.user}" ""\n')
        config = self.workdir / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"{self.database} = host={self.server_host} port={self.server_port}"
            f" dbname={self.database}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {users}\n"
            f"admin_users = {self.user}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "max_client_conn = 500\n"
        )
        if os.geteuid() == 0:
            for path in (self.workdir, users, config):
                shutil.chown(path, "postgres", "postgres")
        return config

    def start(self) -> PgBouncer:
        """Start PgBouncer and wait until a query passes through it."""
        config = self.write_config()
        # PgBouncer refuses to run as root; -u makes it switch to postgres itself.
        user = ["-u", "postgres"] if os.geteuid() == 0 else []
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [executable("pgbouncer"), *user, str(config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, START_TIMEOUT_SECONDS, f"pgbouncer on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited early:\n{self.log_path.read_text()}")
        try:
            with psycopg.connect(self.url(), connect_timeout=1, autocommit=True) as connection:
                return connection.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError:
            return False

    def pools(self) -> dict[str, int]:
        """PgBouncer's ``SHOW POOLS`` row of the pooled database (client and server counts)."""
        with psycopg.connect(self.url("pgbouncer"), autocommit=True) as connection:
            cursor = connection.cursor()
            # The admin console speaks only the simple query protocol.
            rows = cursor.execute("SHOW POOLS", prepare=False).fetchall()
            names = [column.name for column in cursor.description or ()]
        for row in rows:
            values = dict(zip(names, row, strict=True))
            if values["database"] == self.database:
                return {key: value for key, value in values.items() if isinstance(value, int)}
        return {}

    def stop(self) -> None:
        """Stop PgBouncer (immediate shutdown)."""
        stop_process(self.process)

    def restart(self) -> None:
        """Stop PgBouncer at once and start it again on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> PgBouncer:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@dataclass
class RedisNode:
    """One ``redis-server`` (``sentinel=True``: a ``redis-sentinel``) from a config file."""

    workdir: Path
    name: str
    directives: list[str]
    sentinel: bool = False
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def client(self) -> Any:
        """A redis-py client of this node."""
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def start(self) -> RedisNode:
        """Write the config file (Sentinel rewrites its own), start, wait for PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / f"{self.name}.conf"
        config.write_text(
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    f"dir {self.workdir}",
                    f'logfile "{self.workdir / self.name}.log"',
                    *self.directives,
                ]
            )
            + "\n"
        )
        command = (
            [executable("redis-sentinel"), str(config)]
            if self.sentinel
            else [executable("redis-server"), str(config)]
        )
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_until(self._answers, START_TIMEOUT_SECONDS, f"{self.name} on port {self.port}")
        return self

    def _answers(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited early")
        try:
            return bool(self.client().ping())
        except Exception:
            return False

    def kill(self) -> None:
        """SIGKILL: the node dies as a crashed host would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """Stop the node."""
        stop_process(self.process)


@dataclass
class SentinelRedis:
    """A Redis primary, one replica and ``sentinels`` Sentinels (quorum 1), no persistence."""

    workdir: Path
    sentinels: int = 3
    nodes: list[RedisNode] = field(default_factory=list)

    @property
    def primary(self) -> RedisNode:
        """The node started as primary."""
        return self.nodes[0]

    @property
    def replica(self) -> RedisNode:
        """The node started as its replica."""
        return self.nodes[1]

    @property
    def sentinel_nodes(self) -> list[RedisNode]:
        """The Sentinels."""
        return self.nodes[2:]

    @property
    def storage_url(self) -> str:
        """``RATE_LIMIT_STORAGE_URL`` naming every Sentinel and the service."""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.sentinel_nodes)
        return f"redis+sentinel://{hosts}/{SENTINEL_SERVICE}"

    def start(self) -> SentinelRedis:
        """Start primary and replica, wait for the replica to sync, then the Sentinels."""
        storage = ['save ""', "appendonly no"]
        primary = RedisNode(self.workdir, "primary", storage)
        self.nodes.append(primary.start())
        replica = RedisNode(
            self.workdir, "replica", [*storage, f"replicaof 127.0.0.1 {primary.port}"]
        )
        self.nodes.append(replica.start())
        wait_until(self._replica_in_sync, START_TIMEOUT_SECONDS, "the replica to sync")
        for number in range(self.sentinels):
            sentinel = RedisNode(
                self.workdir,
                f"sentinel-{number}",
                [
                    f"sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {primary.port} 1",
                    f"sentinel down-after-milliseconds {SENTINEL_SERVICE} {SENTINEL_DOWN_AFTER_MS}",
                    f"sentinel failover-timeout {SENTINEL_SERVICE} 10000",
                    f"sentinel parallel-syncs {SENTINEL_SERVICE} 1",
                ],
                sentinel=True,
            )
            self.nodes.append(sentinel.start())
        # A failover needs a majority of Sentinels that know each other and the replica.
        wait_until(self._sentinels_ready, START_TIMEOUT_SECONDS, "the Sentinels to meet")
        return self

    def _replica_in_sync(self) -> bool:
        info = self.replica.client().info("replication")
        return info.get("master_link_status") == "up"

    def _sentinels_ready(self) -> bool:
        for node in self.sentinel_nodes:
            client = node.client()
            others = client.sentinel_sentinels(SENTINEL_SERVICE)
            replicas = client.sentinel_slaves(SENTINEL_SERVICE)
            if len(others) < len(self.sentinel_nodes) - 1 or not any(
                not (replica["is_sdown"] or replica["is_disconnected"]) for replica in replicas
            ):
                return False
        return True

    def primary_address(self) -> tuple[str, int]:
        """The primary's address as the first Sentinel that answers reports it."""
        for node in self.sentinel_nodes:
            try:
                host, port = node.client().sentinel_get_master_addr_by_name(SENTINEL_SERVICE)
            except Exception:  # this Sentinel is down: ask the next
                continue
            return host, int(port)
        raise ConnectionError("no Sentinel answered")

    def stop(self) -> None:
        """Stop every node (Sentinels first, so that none starts a failover)."""
        for node in reversed(self.nodes):
            node.stop()

    def __enter__(self) -> SentinelRedis:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
