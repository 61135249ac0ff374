"""Markdown is rendered once, when written; re-rendering is no write of the record."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.markdown import RENDERER_VERSION, render
from app.models import AuditEvent, Comment, Post, User
from app.services import post_service, rendering_service

BODY = "## Heading\n\nA *first* paragraph <script>alert(1)</script>.\n\n- item"


def stored(db, model, record_id: int):
    """The row of ``model`` as it is in the database now."""
    db.session.expire_all()
    return db.session.get(model, record_id, execution_options={"include_deleted": True})


def trail(db) -> list[tuple]:
    """Every audit event, as comparable tuples."""
    return list(db.session.execute(select(AuditEvent.id, AuditEvent.hash)).all())


def make_stale(db, model, record_id: int) -> None:
    """Pretend another renderer made the row's HTML (a Core write, as an old release's)."""
    table = model.__table__
    with db.engine.begin() as connection:
        connection.execute(
            update(table)
            .where(table.c.id == record_id)
            .values(body_html="<p>old</p>", rendered_with="an older renderer")
        )


def test_a_new_post_stores_its_html_excerpt_and_renderer(db, make_post):
    post = stored(db, Post, make_post(body=BODY).id)
    rendering = render(BODY)
    assert post.body_html == rendering.html
    assert "<script>" not in post.body_html and "<em>first</em>" in post.body_html
    assert post.excerpt == rendering.excerpt == "A first paragraph ."
    assert post.rendered_with == RENDERER_VERSION


def test_an_edited_body_is_rendered_again(db, make_post):
    post = make_post(body="Before.")
    post_service.update_post(post.id, db.session.get(User, post.author_id), body="*After*.")
    post = stored(db, Post, post.id)
    assert post.body_html == "<p><em>After</em>.</p>\n"
    assert post.excerpt == "After."


def test_a_new_comment_stores_its_html_and_renderer(db, make_comment):
    comment = stored(db, Comment, make_comment(body="Nice *one*").id)
    assert comment.body_html == "<p>Nice <em>one</em></p>\n"
    assert comment.rendered_with == RENDERER_VERSION


def test_derived_columns_stay_out_of_the_audit_trail(db, make_post):
    post = make_post(body="One.")
    post_service.update_post(post.id, db.session.get(User, post.author_id), body="Two.")
    changes = [
        event.changes
        for event in db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "post"))
    ]
    assert [sorted(change) for change in changes][1] == ["body"]
    assert all(
        key not in change for change in changes for key in ("body_html", "excerpt", "rendered_with")
    )


def test_rerender_renders_only_rows_of_another_renderer(db, make_post, make_comment):
    stale, fresh = make_post(body="*stale*"), make_post(body="*fresh*")
    comment = make_comment(stale, body="**loud**")
    make_stale(db, Post, stale.id)
    make_stale(db, Comment, comment.id)
    report = rendering_service.rerender()
    assert (report.posts, report.comments) == (1, 1)
    assert stored(db, Post, stale.id).body_html == "<p><em>stale</em></p>\n"
    assert stored(db, Post, stale.id).rendered_with == RENDERER_VERSION
    assert stored(db, Comment, comment.id).body_html == "<p><strong>loud</strong></p>\n"
    assert stored(db, Post, fresh.id).body_html == "<p><em>fresh</em></p>\n"
    assert rendering_service.rerender().posts == 0


def test_rerender_all_renders_every_row_in_batches(db, make_post):
    posts = [make_post(body=f"Post {n}") for n in range(5)]
    report = rendering_service.rerender(everything=True, batch_size=2)
    assert report.posts == len(posts)


def test_rerender_changes_no_version_date_or_audit_event(db, make_post):
    post = make_post(body="*same*")
    make_stale(db, Post, post.id)
    before, events = stored(db, Post, post.id), trail(db)
    version, updated, updated_by = before.version, before.date_updated, before.updated_by
    rendering_service.rerender()
    after = stored(db, Post, post.id)
    assert after.body_html == "<p><em>same</em></p>\n"
    assert (after.version, after.date_updated, after.updated_by) == (version, updated, updated_by)
    assert trail(db) == events


def test_rerender_includes_soft_deleted_rows(db, make_post):
    post = make_post(body="*binned*")
    post_service.delete_post(post.id, db.session.get(User, post.author_id))
    make_stale(db, Post, post.id)
    assert rendering_service.rerender().posts == 1
    assert stored(db, Post, post.id).rendered_with == RENDERER_VERSION


def test_seeded_rows_store_the_rendering_of_their_bodies(db):
    from app.seed import seed_demo_data

    seed_demo_data(db.session, posts=20, users=2, comments_per_post=2, seed=7)
    posts = db.session.scalars(select(Post)).all()
    comments = db.session.scalars(select(Comment)).all()
    assert posts and comments
    for post in posts:
        rendering = render(post.body)
        assert (post.body_html, post.excerpt) == (rendering.html, rendering.excerpt)
        assert post.rendered_with == RENDERER_VERSION
    for comment in comments:
        assert comment.body_html == render(comment.body).html


@pytest.mark.parametrize("flag", [[], ["--all"]])
def test_the_rerender_command_reports_in_one_line(app, cli, make_post, flag):
    post = make_post(body="*x*")
    with app.app_context():
        from app.extensions import db

        make_stale(db, Post, post.id)
    result = cli("posts", "rerender", *flag)
    assert result.exit_code == 0, result.output
    assert result.output == (f"Rendered 1 posts and 0 comments again with {RENDERER_VERSION}\n")
