"""The web dashboard at ``/``: a signed-in browser's connections, their subscriptions and deliveries."""

from __future__ import annotations

from flask import Flask

from connector.connections.services import current_clock, current_db
from connector.dashboard.sessions import DashboardSessions, dashboard_migrations


def init_app(app: Flask) -> None:
    from connector.dashboard.views import bp

    with app.app_context():
        current_db().migrate(dashboard_migrations)
    app.register_blueprint(bp)


def demo_link(app: Flask, connection_id: str) -> str:
    """A one-time sign-in link to the dashboard for this connection (what ``demo`` prints)."""
    with app.app_context():
        ticket = DashboardSessions(current_db(), current_clock()).ticket(connection_id)
    base = app.config["CONNECTOR_SETTINGS"].public_url or ""
    return f"{base.rstrip('/')}/dashboard/open/{ticket}"
