"""Loaded by every Python process of a guarded test run: any non-loopback connect fails and is logged.

The offline test puts this folder on PYTHONPATH; the log file is named by NETGUARD_LOG.
"""

import os
import socket

_LOOPBACK = {"127.0.0.1", "::1", "localhost", "0.0.0.0"}
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _check(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and address[0] not in _LOOPBACK:
        with open(os.environ["NETGUARD_LOG"], "a") as log:
            log.write(f"{os.getpid()} {address!r}\n")
        raise OSError(f"network blocked by the test guard: {address!r}")


def connect(self, address):
    _check(self, address)
    return _connect(self, address)


def connect_ex(self, address):
    _check(self, address)
    return _connect_ex(self, address)


if os.environ.get("NETGUARD_LOG"):
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
