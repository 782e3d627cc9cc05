"""The baseline for the HTTP benchmark: a bare FastAPI JSON endpoint, served exactly like the auth service."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/bare")
async def bare() -> dict[str, bool]:
    return {"is_valid": True}
