"""Command-line values more than one verb reads: a `--auth USER:PASS` login, a `--store` URI
and whether a host or URL stays on this machine.

Bad values raise `UsageError` (one line, exit code 2 at the CLI), the one way the edges
report a usage mistake. Not here: the verbs' own options, and environment variables
(typer reads `ASSISTANT_AUTH` and the like before these functions see the value).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

from .errors import UsageError


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """`"USER:PASS"` -> `("USER", "PASS")`; None or "" -> None; anything else raises UsageError.

    >>> parse_auth("reader:s3:cret"), parse_auth(None)
    (('reader', 's3:cret'), None)
    """
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise UsageError("--auth must look like USER:PASS (both non-empty)")
    return user, password


STORE_HELP = ("Where the vectors are searched: faiss (in the index folder, the default), milvus-lite:PATH.db "
              "(embedded Milvus Lite) or milvus://HOST:PORT/COLLECTION (a Milvus server; token from "
              "$ASSISTANT_MILVUS_TOKEN).")


def parse_store_option(value: str | None) -> str | None:
    """A `--store` value in its normal form; None (not given) stays None; a bad one raises UsageError.

    >>> parse_store_option("faiss"), parse_store_option(None), parse_store_option("milvus://db/docs")
    ('faiss', None, 'milvus://db:19530/docs')
    """
    if value is None:
        return None
    from index import parse_store

    try:
        spec = parse_store(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return spec.text()


def is_loopback(host: str) -> bool:
    """Whether `host` only listens on this machine: `localhost`, 127.0.0.0/8 or ::1, not "127.evil.com".

    >>> is_loopback("127.0.0.2"), is_loopback("[::1]"), is_loopback("0.0.0.0"), is_loopback("127.evil.com")
    (True, True, False, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether a URL's host is a loopback address (see `is_loopback`).

    >>> is_loopback_url("http://localhost:7860"), is_loopback_url("http://[::1]:80"), is_loopback_url("http://10.0.0.1")
    (True, True, False)
    """
    return is_loopback(urlparse(url).hostname or "")
