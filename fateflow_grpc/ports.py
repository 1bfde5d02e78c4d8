"""Is a node's port free? Asked before a node starts, so that it says which port is taken."""

from __future__ import annotations

import socket


def port_free(host: str, port: int) -> bool:
    """Whether a server could listen on `host:port` now.

    The probe binds with SO_REUSEADDR, as the servers themselves do: a node that has just
    stopped leaves its side of the connections it closed in TIME_WAIT on its ports for a
    minute, and those keep no server from listening. Without it the probe would turn away an
    operator restarting a node at once, as if another program held the port.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def check_ports_free(host: str, ports: dict[str, int], owner: str) -> None:
    """Raise OSError naming the first of `ports` (kind -> port; 0 picks a free one) in use."""
    for kind, port in ports.items():
        if port and not port_free(host, port):
            raise OSError(
                f"port {port} ({owner}'s {kind} port) is in use by another program: stop it, "
                "or give this node other ports"
            )
