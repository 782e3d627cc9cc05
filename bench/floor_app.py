"""The floor of Python HTTP for the benchmark: a framework-free ASGI endpoint that reads the request body and
answers a fixed JSON body, on the same server the auth service runs (uvicorn, uvloop + httptools, one worker).
Nothing served by Python on this machine can answer faster, so validation is measured as a fraction of it."""

from __future__ import annotations

from typing import Any

BODY = b'{"is_valid":true}'
START = {
    "type": "http.response.start",
    "status": 200,
    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())],
}
END = {"type": "http.response.body", "body": BODY}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send(START)
    await send(END)
