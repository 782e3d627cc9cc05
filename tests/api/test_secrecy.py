"""A key is shown once and then exists nowhere: not in any database row, log line, audit record or error."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from hokusai_auth.keys import tokens
from tests.conftest import Service, ServiceFactory


async def all_rows_as_text(svc: Service) -> str:
    dump = []
    async with svc.runtime.database.engine.connect() as connection:
        for table in ("api_keys", "audit_events"):
            rows = await connection.execute(text(f"SELECT * FROM {table}"))  # noqa: S608 - fixed table names
            dump += [repr(tuple(row)) for row in rows]
    return "\n".join(dump)


async def test_keys_never_reach_the_database_logs_or_audit(
    make_service: ServiceFactory, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = await make_service(database_url, access_log=True)
    access_lines: list[bytes] = []
    svc.app.front.access_log.sink = access_lines.append  # the access log writes its lines itself, in batches
    created = await svc.create_key(name="secret-check")
    key = created["api_key"]
    # travel every way a key can, including the query string that access logs love to print
    await svc.client.post(f"/api/v1/keys/validate?api_key={key}")
    await svc.client.post("/api/v1/keys/validate", headers={"Authorization": f"Bearer {key}"})
    await svc.client.post("/api/v1/keys/validate", json={"api_key": key, "client_ip": "bad"})
    await svc.client.get(f"/api/v1/keys?cursor={key}", headers=svc.admin)
    rotated = (await svc.client.post(f"/api/v1/keys/{created['key_id']}/rotate", headers=svc.admin)).json()
    await svc.runtime.last_used.flush()

    stored = await all_rows_as_text(svc)
    # Everything the service process logged (httpx is the test's own client, which logs the URL it requests).
    server_records = [record for record in caplog.records if not record.name.startswith("httpx")]
    svc.app.front.access_log.flush()
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in server_records)
    logged += b"".join(access_lines).decode()
    for secret in (key, rotated["api_key"]):
        random_part = secret.split("_", 2)[2]
        assert random_part[3:] not in stored, "no part of a key beyond its masked prefix is stored"
        assert random_part[3:] not in logged
    assert "hokusai_auth.access" in logged, "the access log did run"


async def test_last_used_is_written_in_batches_not_per_request(service: Service) -> None:
    created = await service.create_key()
    for _ in range(5):
        await service.validate(created["api_key"])
    info = (await service.client.get(f"/api/v1/keys/{created['key_id']}", headers=service.admin)).json()
    assert info["last_used_at"] is None, "nothing is written on the request path"
    assert await service.runtime.last_used.flush() == 1
    info = (await service.client.get(f"/api/v1/keys/{created['key_id']}", headers=service.admin)).json()
    assert info["last_used_at"] is not None


@pytest.mark.parametrize("formatter", ["JSONFormatter", "TextFormatter"])
def test_log_formatters_mask_anything_key_shaped(formatter: str) -> None:
    from hokusai_auth import logs

    key = tokens.generate("production")
    fields = {"url": f"http://gw/x?api_key={key}", "key": key}
    record = logging.makeLogRecord(
        {"msg": f"oops {key}", "levelno": logging.ERROR, "levelname": "ERROR", "name": "hokusai_auth.test", **fields}
    )
    line = getattr(logs, formatter)().format(record)
    assert key not in line
    assert key[:11] + "***" in line
    assert "?api_key" not in line


def test_log_lines_never_carry_url_query_strings_and_httpx_request_lines_are_off() -> None:
    """The gateway once logged upstream URLs with their query strings (a ?session_token= appeared): httpx logs
    every request at INFO. After logs.configure() it speaks only from WARNING, and any URL in any line loses its
    query string."""
    from hokusai_auth import logs
    from hokusai_auth.logs import JSONFormatter

    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    try:
        logs.configure("INFO")
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
        assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:], _, httpx_level = saved
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(httpx_level)
    message = 'HTTP Request: GET http://mlflow:5000/api/2.0/mlflow/runs/get?session_token=s3cret&run_id=1 "200 OK"'
    record = logging.makeLogRecord({"msg": message, "levelno": logging.WARNING, "levelname": "WARNING"})
    line = JSONFormatter().format(record)
    assert "s3cret" not in line
    assert "http://mlflow:5000/api/2.0/mlflow/runs/get?<redacted>" in line


def test_opaque_tokens_are_masked_in_paths_and_lines() -> None:
    """A claim token travels in a URL path and so reached the access log; refresh and verification tokens too
    would, if anything ever printed them."""
    from hokusai_auth.redact import mask_keys

    for prefix in ("hkc_", "hkv_", "hkr_"):
        token = prefix + "AbC-dEf_ghIJklMNop0123456789qrstUVwxyz"
        masked = mask_keys(f"POST /api/v1/claims/{token} 201")
        assert token not in masked
        assert f"{prefix}***" in masked
