"""Benchmark: ``flask seed`` at scale, ``audit verify`` over the result, and feed pages.

    .venv/bin/python bench/seed_and_feed.py postgresql://postgres@127.0.0.1/inkwell_bench \\
        --posts 100000

The database's public schema is DROPPED and rebuilt from the migrations first: point it
at a scratch database only.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.audit import verify_chain
from app.extensions import db
from app.seed import seed_demo_data
from app.services import feed_service
from config import Settings


def cpu_seconds() -> float:
    """User plus system CPU time of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, action):
    """Run ``action``, print its wall and CPU time, return its result."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = action()
    print(f"{label}: {time.perf_counter() - wall:.2f}s wall, {cpu_seconds() - cpu:.2f}s CPU here")
    return result


def main() -> None:
    """Rebuild the schema, seed, verify, and time the feed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--posts", type=int, default=100_000)
    args = parser.parse_args()
    settings = Settings(
        _env_file=None, secret_key="bench-" + "x" * 40, database_url=args.database_url, log_file=""
    )
    app = create_app(settings)
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        report = timed(
            f"seed --posts {args.posts}",
            lambda: seed_demo_data(db.session, posts=args.posts),
        )
        print(f"  {report.users} users, {report.posts} posts, {report.comments} comments")
        with db.engine.connect() as connection:
            chain = timed("audit verify", lambda: verify_chain(connection))
        print(f"  {chain.checked} events, intact={chain.intact}")
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("ANALYZE"))
        for skip in (0, args.posts // 2):
            page = timed(
                f"feed page skip={skip}",
                lambda skip=skip: feed_service.list_published_posts(skip=skip, limit=20),
            )
            print(f"  {len(page.items)} of {page.total}")


if __name__ == "__main__":
    main()
