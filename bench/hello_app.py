"""A bare Flask "hello world": under gunicorn, the ceiling of a Python WSGI server here."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello, world"
