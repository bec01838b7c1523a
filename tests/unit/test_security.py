"""Security defaults: no evaluation of model output, remote code off, no credentials, no proxies."""

import ast
import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aurelia_local.core.config import PROFILES, ROLES, load_settings
from aurelia_local.engines.server_flags import server_flags

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("aurelia_local", "graphs", "model_zoo")
BUILTINS = {"eval", "exec", "compile", "__import__"}  # called by bare name (``model.eval()`` is torch)


def test_no_package_evaluates_or_unpickles_text():
    found = []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    name = getattr(node.func, "id", None)
                    if name in BUILTINS or getattr(node.func, "attr", None) == "literal_eval":
                        found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
                if isinstance(node, ast.Import | ast.ImportFrom):
                    names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                    if any(n.split(".")[0] in {"pickle", "marshal", "shelve"} for n in names):
                        found.append(f"{path.relative_to(REPO)}:{node.lineno} imports {names}")
    assert not found, found


@pytest.mark.parametrize("profile", PROFILES)
def test_remote_code_is_off_for_every_model_unless_turned_on_for_that_one(profile):
    settings = load_settings(profile, environ={})
    assert not any(settings.models[role].trust_remote_code for role in ROLES if role in settings.models)
    assert "--trust-remote-code" not in server_flags(settings, "generator")
    turned_on = load_settings(profile, overrides=["models.generator.trust_remote_code=true"], environ={})
    assert "--trust-remote-code" in server_flags(turned_on, "generator")
    assert "--trust-remote-code" not in server_flags(turned_on, "summarizer")


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 - the stdlib's handler name
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        type(self).seen.append({k.lower(): v for k, v in self.headers.items()})
        body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("set-cookie", "session=abc")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_server_client_sends_no_credentials_and_ignores_proxy_settings(monkeypatch, tmp_path):
    from aurelia_local.engines.server import ServerEngine

    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login user password secret\n")
    for name, value in {
        "OPENAI_API_KEY": "sk-not-to-be-sent", "HTTP_PROXY": "http://10.9.9.9:3128",
        "HTTPS_PROXY": "http://10.9.9.9:3128", "ALL_PROXY": "http://10.9.9.9:3128", "NETRC": str(netrc),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings = load_settings("smoke", environ={})
    settings = settings.model_copy(
        update={"engine": settings.engine.model_copy(update={"backend": "vllm_server",
                                                             "servers": {"summarizer": [url]}})}
    )  # fmt: skip

    async def twice():
        engine = ServerEngine("summarizer", settings)
        try:
            return [await engine._post("/v1/chat/completions", {"model": "x"}) for _ in range(2)]
        finally:
            await engine.aclose()

    try:
        replies = asyncio.run(twice())
    finally:
        server.shutdown()
    assert replies == [{"ok": True}] * 2 and len(_Recorder.seen) == 2  # reached directly, no proxy
    for headers in _Recorder.seen:
        assert not {"authorization", "proxy-authorization", "cookie"} & set(headers), headers
