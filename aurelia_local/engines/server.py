"""Agents served by vLLM's OpenAI-compatible server: async, several base URLs, retries, timeouts.

Media goes natively to the model, decoded once on this side exactly as for the in-process engine;
the model's family renders the request body (``families.*.openai_request``). The server returns the
prompt's token ids, so a prompt that lost its audio or video is caught here as it is in-process.
Only loopback hosts and hosts named in ``engine.allowed_hosts`` may be contacted; no credentials
are sent.
"""

from __future__ import annotations

import asyncio
import itertools
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urlparse

from aurelia_local.core.config import Settings
from aurelia_local.core.errors import ConfigError, EngineError
from aurelia_local.core.types import Generation
from aurelia_local.engines.families import family_of
from aurelia_local.engines.protocol import Activity
from aurelia_local.engines.request import EngineRequest

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
RETRY_STATUS = frozenset({502, 503, 504})


def check_url(url: str, allowed_hosts: list[str]) -> str:
    """Return the server root of ``url`` (``/v1`` stripped) if its host may be contacted."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"server URL {url!r}: expected http://HOST:PORT[/v1]")
    if parsed.hostname not in LOOPBACK and parsed.hostname not in allowed_hosts:
        raise ConfigError(
            f"server URL {url!r}: host {parsed.hostname} is not loopback; add it to engine.allowed_hosts"
        )
    return url.rstrip("/").removesuffix("/v1")


class ServerEngine:
    """Async client of the vLLM servers that serve one agent role."""

    def __init__(self, role: str, settings: Settings):
        import httpx

        urls = settings.engine.servers.get(role) or []
        if not urls:
            raise ConfigError(f"engine.backend=vllm_server but engine.servers.{role} lists no URL")
        self.roots = [check_url(u, settings.engine.allowed_hosts) for u in urls]
        self.role = role
        self.model_id = role  # scripts/serve_agents.sh serves each model under its role's name
        self.family = family_of(settings.models[role].kind)
        self.activity = Activity()
        self.retries = settings.engine.max_retries
        self._next = itertools.cycle(range(len(self.roots)))
        # No proxies or .netrc from the environment, and no cookies kept: nothing is sent but the request.
        no_cookies = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
        self._client = httpx.AsyncClient(
            timeout=settings.engine.request_timeout_s, trust_env=False, cookies=no_cookies
        )
        self._token_ids: dict[str, int] = {}

    async def generate(self, items: list[EngineRequest]) -> list[Generation]:
        """Send every item concurrently (the server batches them); results in order."""
        self.activity.begin(len(items))
        try:
            return list(await asyncio.gather(*(self._one(item) for item in items)))
        finally:
            self.activity.end(len(items))

    def _body(self, item: EngineRequest) -> dict:
        self.family.check_inputs(item.request.inputs, f"{self.role} server request")
        s = item.sampling
        body = {
            "model": self.model_id, "temperature": s.temperature, "top_p": s.top_p,
            "max_tokens": s.max_tokens, "seed": s.seed, "return_token_ids": True,
            **self.family.openai_request(item.request),
        }  # fmt: skip
        if item.structured:
            body["structured_outputs"] = item.structured
        return body

    async def _post(self, path: str, body: dict) -> dict:
        import httpx

        last = ""
        for attempt in range(self.retries + 1):
            root = self.roots[next(self._next)]
            try:
                response = await self._client.post(root + path, json=body)
            except httpx.TransportError as exc:
                last = f"{root}: {exc.__class__.__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return response.json()
                message = response.text[:300]
                if response.status_code not in RETRY_STATUS:
                    raise EngineError(f"{root}{path}: HTTP {response.status_code}: {message}")
                last = f"{root}: HTTP {response.status_code}"
            if attempt < self.retries:
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))
        raise EngineError(
            f"{self.role} server not reachable after {self.retries + 1} tries ({last}); is it up? "
            "Start the profile's servers with scripts/serve_agents.sh"
        )

    async def _media_token_id(self, token: str) -> int:
        if token not in self._token_ids:
            out = await self._post(
                "/tokenize", {"model": self.model_id, "prompt": token, "add_special_tokens": False}
            )
            self._token_ids[token] = out["tokens"][0]
        return self._token_ids[token]

    async def _one(self, item: EngineRequest) -> Generation:
        reply = await self._post("/v1/chat/completions", self._body(item))
        choice = reply["choices"][0]
        prompt_ids = reply.get("prompt_token_ids") or []
        ids = {}
        for token in self.family.media_token_strings().values():
            ids[token] = await self._media_token_id(token)
        counts = self.family.media_tokens(prompt_ids, ids.__getitem__)
        self.family.check_media(counts, item.request.inputs, f"{self.role} server prompt")
        return Generation(
            text=choice["message"]["content"] or "",
            token_ids=list(choice.get("token_ids") or []),
            prompt_tokens=reply["usage"]["prompt_tokens"],
            media_tokens=counts,
            finish_reason=choice.get("finish_reason"),
        )

    @property
    def closed(self) -> bool:
        """Whether ``aclose`` has run (its HTTP client is closed)."""
        return self._client.is_closed

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
