"""Bare Flask baselines: the API index (bench/edge.py) and a conditional list (bench/production.py).

No hooks, no extensions: what Flask itself costs for the same answers.
"""

from flask import Flask, Response, jsonify, request

app = Flask(__name__)

#: The entity tag of the fixed list below.
LIST_ETAG = "bare-feed"


@app.get("/api/v1/")
def index() -> Response:
    """The API index, without any of Inkwell's hooks or extensions."""
    return jsonify(
        {
            "success": True,
            "message": "OK",
            "data": {"name": "Inkwell", "version": "0.1.0", "openapi": "/api/v1/openapi.json"},
        }
    )


@app.get("/api/v1/posts")
def posts() -> Response:
    """A fixed empty list with an ETag: 304 when ``If-None-Match`` names that tag."""
    response = jsonify({"success": True, "message": "OK", "data": []})
    response.set_etag(LIST_ETAG)
    return response.make_conditional(request)


@app.get("/health/live")
def live() -> Response:
    """Answers once the worker serves, so that the benchmark can wait for it."""
    return jsonify({"status": "ok"})
