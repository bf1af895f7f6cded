"""Running the dashboard: which hosts it may listen on, then uvicorn."""

from __future__ import annotations

import ipaddress
import os

from footprint.errors import ValidationError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str, port: int, allow_remote: bool) -> bool:
    """Raise unless `host` is a loopback address or remote access is explicitly allowed; True when the
    dashboard will be reachable from other machines."""
    if not 0 < port < 65536:
        raise ValidationError(f"bad port {port}: expected 1-65535")
    if is_loopback(host):
        return False
    if not allow_remote:
        raise ValidationError(
            f"refusing to serve on {host}: not a loopback address (the dashboard has no login); "
            "give --allow-remote to serve it to other machines"
        )
    return True


def serve(db_path: str | os.PathLike | None, host: str, port: int, lang: str = "en") -> None:
    import uvicorn

    from footprint.web.app import create_app
    from footprint.web.dashboard import Dashboard

    dashboard = Dashboard(db_path, lang)
    dashboard.quarters()  # fail now, with one line, if the database is missing or too old
    uvicorn.run(create_app(dashboard), host=host, port=port, log_level="warning", access_log=False,
                server_header=False, date_header=False)
