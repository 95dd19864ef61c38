"""Driving the dashboard as a browser would with Flask's test client: a cookie jar per client, the CSRF
token read from the page's hidden field, a form posted back."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.connections import csrf
from tests.connections.support import csrf_token


def page_token(client: FlaskClient, path: str = "/?live=0") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def submit(client: FlaskClient, action: str, **fields: str) -> TestResponse:
    """Post a form of the dashboard the way its page would (with the page's CSRF token)."""
    return client.post(action, data={csrf.FIELD: page_token(client), **fields})


def sign_in(client: FlaskClient, key: str) -> TestResponse:
    response = submit(client, "/dashboard/sign-in", connection_key=key)
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def html(client: FlaskClient, path: str = "/?live=0") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)
