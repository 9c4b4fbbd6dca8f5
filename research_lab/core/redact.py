"""Secrets out of logs, stored details and error messages.

::

    redact("postgresql://app:s3cret@db:5432/market")   # 'postgresql://app:***@db:5432/market'
    redact("https://hooks.example.com/services/T0/B0/XyZ")  # 'https://hooks.example.com/***'
    redact_url("https://h/x?token=abc&n=1")            # 'https://h/x?token=***&n=1'

Three kinds of secret are removed wherever they appear in a text:

- the password of a URL's user part (``scheme://user:password@host``);
- query values whose name says they are a credential (token, key, secret, password, sig...);
- the path of a webhook URL (``/hooks/...``, ``/services/...``, ``/webhook...``, or any path
  segment that looks like a random token), since webhook services put the secret in the path;
- and the literal values of the environment variables that hold secrets
  (:data:`SECRET_ENV`), wherever they appear.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

MASK = "***"
SECRET_ENV = ("RESEARCH_LAB_ALERT_WEBHOOK_URL", "MLFLOW_TRACKING_PASSWORD",
              "MLFLOW_TRACKING_TOKEN", "POSTGRES_PASSWORD", "PGPASSWORD",
              "RESEARCH_LAB_PG_PASSWORD")
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+)")
_SECRET_QUERY = re.compile(r"(?i)(token|key|secret|password|passwd|pwd|sig|signature|auth|"
                           r"credential|code)")
_WEBHOOK_PATH = re.compile(r"(?i)/(hooks?|services|webhooks?|api/webhooks|triggers?)(/|$)")
_TOKEN_SEGMENT = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9_\-]{16,}$")


def redact_url(url: str, *, drop_path: bool = False) -> str:
    """``url`` without a password, credential query values, or a secret-looking path
    (``drop_path``: never show the path, as for a webhook)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        name = user.split(":", 1)[0]
        netloc = f"{name}:{MASK}@{host}" if ":" in user else netloc
    path = parts.path
    segments = [s for s in path.split("/") if s]
    if drop_path or _WEBHOOK_PATH.search(path) or any(_TOKEN_SEGMENT.match(s) for s in segments):
        path = f"/{MASK}" if path not in ("", "/") else path
    query = parts.query
    if query:
        pairs = []
        for pair in query.split("&"):
            name, sep, value = pair.partition("=")
            pairs.append(f"{name}={MASK}" if sep and _SECRET_QUERY.search(name) else pair)
        query = "&".join(pairs)
    out = f"{parts.scheme}://{netloc}{path}"
    if query:
        out += f"?{query}"
    if parts.fragment:
        out += f"#{MASK}"
    return out


def _secret_values(env: Mapping[str, str]) -> list[str]:
    values = []
    for name in SECRET_ENV:
        value = (env.get(name) or "").strip()
        if len(value) >= 4:
            values.append(value)
            if "://" in value:  # a webhook URL: its path alone is the secret
                path = urlsplit(value).path
                if len(path) > 4:
                    values.append(path)
    return sorted(values, key=len, reverse=True)


def redact(text: object, env: Mapping[str, str] | None = None) -> str:
    """``text`` (any object, as ``str``) with every secret of the module docstring masked."""
    out = str(text)
    env = os.environ if env is None else env
    for value in _secret_values(env):
        out = out.replace(value, MASK)
    return _URL.sub(lambda m: redact_url(m.group(1)), out)
