"""A TCP proxy in front of a real vLLM server that can take the server away and bring it back."""

from __future__ import annotations

import socket
import threading
import time

CHAT = b"POST /v1/chat/completions"


class Proxy:
    """Forwards 127.0.0.1:``port`` to ``target``; ``outage`` drops a chat request and refuses connects.

    ``outage(after, seconds)`` arms a fault: the ``after``-th chat request from now is cut off
    unanswered and the proxy stops listening (connects are refused) for ``seconds``, or for good
    with ``seconds=None``, until ``up()``.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.dropped = 0
        self.chats = 0
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listening = threading.Event()
        self._fault: tuple[int, float | None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def up(self) -> None:
        """Listen again (no-op when listening)."""
        if self._listening.is_set():
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listening.set()
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        """Stop listening and cut every open connection, as a server that died would."""
        self._listening.clear()
        with self._lock:
            for conn in list(self._open):
                _close(conn)
            self._open.clear()
        time.sleep(0.2)  # the accept loop notices within its timeout and closes the listener

    def outage(self, after: int, seconds: float | None) -> None:
        """Arm a fault on the ``after``-th chat request from now (1 is the next one)."""
        with self._lock:
            self._fault = (self.chats + after, seconds)

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while self._listening.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                client.settimeout(None)
                upstream = socket.create_connection(self.target)
                with self._lock:
                    self._open |= {client, upstream}
                threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
                threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        try:
            while data := src.recv(65536):
                if from_client and data.startswith(CHAT) and self._trip():
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            _close(src)
            _close(dst)

    def _trip(self) -> bool:
        """Count a chat request; True when it is the armed fault's (the proxy goes down)."""
        with self._lock:
            self.chats += 1
            if self._fault is None or self.chats != self._fault[0]:
                return False
            seconds = self._fault[1]
            self._fault = None
            self.dropped += 1
        self.down()
        if seconds is not None:
            threading.Timer(seconds, self.up).start()
        return True


def _close(conn: socket.socket) -> None:
    try:
        conn.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    conn.close()
