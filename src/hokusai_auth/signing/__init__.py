"""The keys that sign access tokens: Ed25519, kept in the database encrypted under SECRET_KEY, published as JWKS."""
