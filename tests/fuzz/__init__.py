"""Property-based fuzzing of the HTTP API (schemathesis over the app's own OpenAPI schema), on SQLite and PostgreSQL."""
