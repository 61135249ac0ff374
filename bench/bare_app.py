"""The baseline of bench/edge.py: a bare Flask app answering the same JSON as ``GET /api/v1/``."""

from flask import Flask, Response, jsonify

app = Flask(__name__)


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
