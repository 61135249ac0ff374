"""What the revocation check costs per authenticated request, on a seeded PostgreSQL.

    .venv/bin/python -m bench.revocation_check \\
        --database-url postgresql://postgres@127.0.0.1:5432/inkwell_bench_revocation

1. Rebuilds the database's public schema from the migrations (it is DROPPED first) and
   seeds ``--users`` users and ``--revoked`` revoked credentials (ids of signed-out tokens
   and sessions, all still unexpired), then runs VACUUM ANALYZE.
2. Captures, through the application itself, the SQL of the statement that loads the
   request's user: once as it was before revocation existed (the user's row alone) and
   once as :func:`app.services.user_service.get_active_user` sends it (the same row plus
   the EXISTS subquery on ``revoked_credentials``).
3. Runs ``--rounds`` interleaved rounds on one psycopg connection (default settings, so
   psycopg prepares both statements after a few executions, as it does in the app): in
   each round ``--iterations`` executions of the plain statement, then as many of the
   statement with the check, for random users and credential ids (one in ten revoked).
4. Prints per round the median latency of each, and over the rounds the median and the
   spread (min..max) of each and of their difference: the cost of the check.
"""

from __future__ import annotations

import argparse
import random
import re
import secrets
import statistics
import time
from datetime import timedelta

import psycopg
from sqlalchemy import event, insert, text
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/inkwell_bench_revocation"
SECRET_KEY = "bench-secret-key-that-is-long-enough-0123456789"
BATCH = 5_000


def seed(database_url: str, users: int, revoked: int) -> tuple[dict[str, str], list[str]]:
    """Rebuild and seed the database; the SQL of both statements and the revoked ids."""
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import RevokedCredential, User, utcnow
    from app.services import user_service
    from config import Settings

    app = create_app(
        Settings(_env_file=None, secret_key=SECRET_KEY, database_url=database_url, log_file="")
    )
    with app.app_context():
        engine = db.engine
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        now = utcnow()
        # Benchmark fixtures written straight to the tables: no audit events are needed.
        with engine.begin() as connection:
            for start in range(0, users, BATCH):
                connection.execute(
                    insert(User.__table__),
                    [
                        {
                            "username": f"bench{number}",
                            "email": f"bench{number}@example.com",
                            "password_hash": "not-a-login",
                            "role": "author",
                            "is_active": True,
                            "credentials_version": 1,
                            "date_added": now,
                            "date_updated": now,
                            "added_by": 0,
                            "updated_by": 0,
                        }
                        for number in range(start, min(start + BATCH, users))
                    ],
                )
            revoked_ids = [secrets.token_urlsafe(16) for _ in range(revoked)]
            for start in range(0, revoked, BATCH):
                connection.execute(
                    insert(RevokedCredential.__table__),
                    [
                        {
                            "id": credential_id,
                            "user_id": random.randint(1, users),
                            "expires_at": now + timedelta(minutes=random.randint(1, 60)),
                        }
                        for credential_id in revoked_ids[start : start + BATCH]
                    ],
                )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        captured: list[str] = []

        def capture(_conn, _cursor, statement, _parameters, _context, _many) -> None:
            captured.append(statement)

        event.listen(engine, "before_cursor_execute", capture)
        db.session.execute(user_service.user_load_statement(1)).first()
        db.session.remove()
        user_service.get_active_user(1, credential_id="probe", credentials_version=1)
        db.session.remove()
        event.remove(engine, "before_cursor_execute", capture)
        engine.dispose()
    plain, checked = captured[-2], captured[-1]
    if "EXISTS" not in checked.upper() or "EXISTS" in plain.upper():
        raise SystemExit(f"unexpected statements captured:\n{plain}\n{checked}")
    return {"plain": plain, "checked": checked}, revoked_ids


#: A pyformat placeholder and the SQL type SQLAlchemy casts it to, e.g. ``%(id_1)s::INTEGER``.
PLACEHOLDER = re.compile(r"%\((\w+)\)s::(\w+)")


def argument_builder(statement: str, users: int, revoked_ids: list[str]):
    """A function giving random arguments for ``statement``: a user id, a credential id.

    One credential id in ten is a revoked one, the rest are fresh (not in the table).
    """
    placeholders = PLACEHOLDER.findall(statement)

    def build() -> dict:
        values: dict = {}
        for name, sql_type in placeholders:
            if sql_type == "INTEGER":
                values[name] = random.randint(1, users)
            elif random.random() < 0.1:
                values[name] = random.choice(revoked_ids)
            else:
                values[name] = secrets.token_urlsafe(16)
        return values

    return build


def run_round(
    connection: psycopg.Connection, statement: str, iterations: int, make_args
) -> list[float]:
    """Latencies (microseconds) of ``iterations`` executions of ``statement``."""
    latencies = []
    with connection.cursor() as cursor:
        for _ in range(iterations):
            args = make_args()
            started = time.perf_counter()
            cursor.execute(statement, args)
            cursor.fetchall()
            latencies.append((time.perf_counter() - started) * 1e6)
    return latencies


def main() -> None:
    """Seed, then time both statements in interleaved rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=5_000)
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("--rounds must be at least 5")

    print(f"seeding {args.users} users and {args.revoked} revoked credentials ...", flush=True)
    statements, revoked_ids = seed(args.database_url, args.users, args.revoked)
    print("plain:  ", " ".join(statements["plain"].split()))
    print("checked:", " ".join(statements["checked"].split()))
    builders = {
        kind: argument_builder(sql, args.users, revoked_ids) for kind, sql in statements.items()
    }

    url = make_url(args.database_url).set(drivername="postgresql")
    conninfo = url.render_as_string(hide_password=False)
    medians: dict[str, list[float]] = {"plain": [], "checked": []}
    with psycopg.connect(conninfo, autocommit=True) as connection:
        for kind in ("plain", "checked"):  # warm up: plans prepared, pages cached
            run_round(connection, statements[kind], 500, builders[kind])
        for number in range(1, args.rounds + 1):
            for kind in ("plain", "checked"):
                latencies = run_round(connection, statements[kind], args.iterations, builders[kind])
                medians[kind].append(statistics.median(latencies))
            print(
                f"round {number}: plain {medians['plain'][-1]:.1f} us, "
                f"with the check {medians['checked'][-1]:.1f} us",
                flush=True,
            )
    differences = [c - p for p, c in zip(medians["plain"], medians["checked"], strict=True)]
    print()
    for label, values in (
        ("plain user load", medians["plain"]),
        ("with the revocation check", medians["checked"]),
        ("cost of the check", differences),
    ):
        print(
            f"{label:>26}: median {statistics.median(values):6.1f} us"
            f"  (spread {min(values):.1f}..{max(values):.1f} us over {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
