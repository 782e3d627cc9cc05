"""The authenticating gateway: MLflow and the prediction API behind Hokusai API keys.

``hokusai-auth gateway --mlflow-upstream URL [--prediction-upstream URL] [--auth-service-url URL]``. A request is
authenticated (in-process against the auth service's database and caches, or over HTTP against the auth
service), stripped of the client's credentials and hop-by-hop headers, given X-Hokusai-User-Id and
X-Hokusai-API-Key-Id, and streamed to the upstream; the answer is streamed back.
"""
