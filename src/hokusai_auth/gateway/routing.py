"""Which upstream a request path goes to, and the path it has there: one representation for routing, scope
checks, usage labels and forwarding.

The client's raw path is normalized once (RFC 3986 §6.2.2: percent-encoded unreserved characters decoded, other
escapes upper-cased; ``/%6Dlflow/`` is ``/mlflow/``), then everything works from that: the mount is matched on it,
the upstream receives it (minus the mount), and the scope check and the usage label read its decoded form, which
is what the upstream's router sees. A path with a ``.`` or ``..`` segment, literal or encoded, is refused: the
upstream or a proxy before it might resolve it to another route than the one checked here.

MLflow is reachable at its own paths (what MLflow clients call when the tracking URI is the gateway's root),
under ``/mlflow/`` (the UI and the incident report's ``/mlflow/ajax-api/...``) and under ``/api/mlflow/``; the
mount prefix is removed unless MLflow itself runs with ``--static-prefix`` (then it is put back). The prediction
API is mounted at ``/prediction/``.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote

from hokusai import _vocabulary as vocabulary
from hokusai._vocabulary import Service

# The vocabulary's paths as the raw (bytes) paths routing works on.
MLFLOW_OWN_PREFIXES = tuple(prefix.encode() for prefix in vocabulary.MLFLOW_API_PREFIXES)
MLFLOW_MOUNTS = tuple(mount.encode() for mount in vocabulary.MLFLOW_MOUNTS)  # longest first
PREDICTION_MOUNT = vocabulary.PREDICTION_MOUNT.encode()
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset((string.ascii_letters + string.digits + "-._~").encode())


class Upstream(StrEnum):
    """The gateway's upstreams (names in metrics, logs and ``--<name>-upstream``)."""

    MLFLOW = "mlflow"
    PREDICTION = Service.PREDICTION.value  # the prediction API is named after the service it is


class InvalidPath(ValueError):
    """The path cannot be routed safely (a dot segment)."""


def normalize(raw_path: bytes) -> bytes:
    """The raw path with unreserved characters decoded and other escapes upper-cased; InvalidPath for paths with
    dot segments."""

    def unescape(match: re.Match[bytes]) -> bytes:
        byte = int(match.group(1), 16)
        return bytes([byte]) if byte in _UNRESERVED else b"%" + match.group(1).upper()

    path = _ESCAPE.sub(unescape, raw_path) or b"/"
    # Checked on the fully decoded path too: "a%2F..%2Fb" is a dot segment to a router that decodes %2F first.
    if any(segment in (".", "..") for segment in decode(path).split("/")):
        raise InvalidPath("dot segments are not allowed in paths")
    return path


def decode(raw_path: bytes) -> str:
    """A raw path as the upstream's router sees it: every escape decoded (UTF-8, undecodable bytes replaced)."""
    return unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="replace")


def encode(path: str) -> bytes:
    """A decoded path as a raw one (for clients that gave no raw path)."""
    return quote(path, safe="/:@!$&'()*+,;=-._~").encode("ascii")


@dataclass(frozen=True, slots=True)
class Target:
    upstream: Upstream
    raw_path: bytes  # the normalized path to request upstream, still percent-encoded (static prefix included)
    route_path: str  # the decoded path relative to the upstream's own root: what scopes and usage labels read
    service_id: Service  # the Hokusai service a key must belong to
    open: bool = False  # health endpoints pass without a key


@dataclass(frozen=True)
class RoutingTable:
    mlflow: bool
    prediction: bool
    mlflow_static_prefix: str = ""  # e.g. "/mlflow" when MLflow runs with --static-prefix /mlflow

    def resolve(self, raw_path: bytes) -> Target | None:
        """Where a normalized raw path goes (see ``normalize``), or None when no upstream serves it."""
        if self.mlflow:
            prefix = self.mlflow_static_prefix.encode()
            if raw_path.startswith(MLFLOW_OWN_PREFIXES):
                return self._mlflow(prefix, raw_path)
            for mount in MLFLOW_MOUNTS:
                rest = _under(raw_path, mount)
                if rest is not None:
                    return self._mlflow(prefix, rest)
        if self.prediction:
            rest = _under(raw_path, PREDICTION_MOUNT)
            if rest is not None:
                route = decode(rest)
                return Target(Upstream.PREDICTION, rest, route, Service.PREDICTION, open=route == "/health")
        return None

    @staticmethod
    def _mlflow(prefix: bytes, rest: bytes) -> Target:
        route = decode(rest)
        return Target(Upstream.MLFLOW, prefix + rest, route, Service.PLATFORM, open=route == "/health")


def _under(raw_path: bytes, mount: bytes) -> bytes | None:
    """The rest of ``raw_path`` below ``mount`` ("/" for the mount itself), or None when it is not below it."""
    if raw_path == mount:
        return b"/"
    if raw_path.startswith(mount + b"/"):
        return raw_path[len(mount) :]
    return None
