"""An upstream that tells what it received: method, path, query, headers and body size and hash."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson


class EchoUpstream:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen = {
            "method": scope["method"],
            "path": scope["path"],
            "raw_path": scope["raw_path"].decode(),
            "query": scope["query_string"].decode(),
            "headers": [[k.decode(), v.decode()] for k, v in scope["headers"]],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        self.requests.append(seen)
        if scope["path"].endswith("/slow"):
            await asyncio.sleep(3)
        if scope["path"].endswith("/big"):
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            for _ in range(80):
                await send({"type": "http.response.body", "body": b"z" * 65536, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        payload = orjson.dumps(seen)
        status = 201 if scope["path"].endswith("/created") else 200
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                (b"x-upstream", b"echo")]})  # fmt: skip
        await send({"type": "http.response.body", "body": payload})

    def headers_of(self, index: int = -1) -> dict[str, str]:
        return dict(self.requests[index]["headers"])
