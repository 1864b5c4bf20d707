"""The only module that imports boto3: the bucket's objects (put, get, delete, list) and
CloudFront's invalidations, in the few words the mirror needs, and every failure turned
into one ``StoreError`` that says what went wrong in a line.

Endpoint, credentials, region and profile come from the standard AWS variables, which
boto3 reads itself (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_DEFAULT_REGION``, ``AWS_PROFILE``), and ``AWS_REGION``, which it does not. With an
endpoint of its own (MinIO, SeaweedFS, R2, B2, Ceph) a store is addressed path-style.
botocore's newer default checksums (CRC32 in aws-chunked bodies) are off, since many
S3-compatible stores refuse them: each upload carries Content-MD5 instead, which every
store checks. Multipart uploads are never used (the files are small), so an ETag is the
store's own for one PUT; the mirror keeps its own sha256 in the bucket's record anyway.

boto3 is imported when the first client is made, not with this module: every command
imports the CLI, and only those with a bucket should pay boto3's 130 ms and memory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
ATTEMPTS = 2  # botocore's own tries per request; the mirror retries whole passes itself
CONNECT_TIMEOUT, READ_TIMEOUT = 3.0, 20.0
# Error codes that mean "your credentials or rights", as S3 and the compatibles spell them.
REFUSED = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                     "InvalidToken", "ExpiredToken", "AllAccessDisabled", "403"})


class StoreError(Exception):
    """A request the store did not carry out; the message is one line for the log and
    /status (storage down, throttled, refused, no such bucket...)."""


class PreconditionFailed(StoreError):
    """A conditional write or delete lost: the object is not what the condition said."""


class NotFound(StoreError):
    """No such object."""


@dataclass(frozen=True)
class Listed:
    """One object of a listing, its key relative to the prefix."""

    path: str
    size: int
    etag: str


@dataclass(frozen=True)
class Fetched:
    """An object's bytes and what the store says of them and of its own clock."""

    body: bytes
    etag: str
    modified: datetime
    now: datetime  # the store's Date header: ages are measured on its clock, not ours


def region() -> str | None:
    """``AWS_REGION`` (what the AWS SDKs of other languages read), else boto3's own."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None


def endpoint() -> str | None:
    return next((os.environ[n] for n in ENDPOINT_VARIABLES if os.environ.get(n)), None)


def _client(service: str, pool: int) -> Any:
    """A boto3 client (thread-safe; one per Bucket) configured as the module says."""
    import boto3
    import botocore.config
    import botocore.session

    options: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": ATTEMPTS},
        "connect_timeout": CONNECT_TIMEOUT, "read_timeout": READ_TIMEOUT,
        "max_pool_connections": pool, "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
        "parameter_validation": False}  # our own calls, of fixed types: 5% of a small PUT
    if service == "s3" and endpoint() is not None:
        options["s3"] = {"addressing_style": "path"}
    core = botocore.session.get_session()
    # Times stay text: parsing each LastModified of a listing with dateutil took 2 s of
    # every 11,000 objects listed, and only the lock reads one.
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)
    session = boto3.session.Session(botocore_session=core, region_name=region())
    return session.client(service, config=botocore.config.Config(**options))


class Bucket:
    """The objects under one bucket and prefix; paths are relative to the prefix."""

    def __init__(self, bucket: str, prefix: str, pool: int = 16) -> None:
        self.bucket, self.prefix = bucket, f"{prefix}/" if prefix else ""
        self.client = _client("s3", pool + 4)
        self.counts: Counter[str] = Counter()  # requests made, by kind, for the status file
        self._count_lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return str(self.client.meta.endpoint_url)

    def _count(self, kind: str) -> None:
        with self._count_lock:
            self.counts[kind] += 1

    def put(self, path: str, body: bytes, content_type: str, cache_control: str | None = None,
            if_match: str | None = None, if_none_match: bool = False) -> str:
        """Store ``body`` at ``path`` with these headers; its ETag. ``if_match`` (an ETag)
        or ``if_none_match`` (no object there yet) make the write conditional:
        PreconditionFailed if it does not hold."""
        md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
        extra: dict[str, str] = {"ContentType": content_type, "ContentMD5": md5}
        if cache_control is not None:
            extra["CacheControl"] = cache_control
        if if_match is not None:
            extra["IfMatch"] = if_match
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        self._count("put")
        answer = self._call("put_object", path, Body=body, **extra)
        return str(answer["ETag"])

    def get(self, path: str) -> Fetched:
        """The object at ``path``; NotFound if there is none."""
        self._count("get")
        answer = self._call("get_object", path)
        with answer["Body"] as stream:
            body = stream.read()
        modified = _aware(parsedate_to_datetime(answer["LastModified"]))
        date = answer["ResponseMetadata"]["HTTPHeaders"].get("date")
        return Fetched(body, str(answer["ETag"]), modified,
                       _aware(parsedate_to_datetime(date)) if date else modified)

    def delete(self, path: str, if_match: str | None = None) -> None:
        """Delete the object at ``path`` (gone already is fine)."""
        self._count("delete")
        self._call("delete_object", path, **({"IfMatch": if_match} if if_match else {}))

    def list(self, under: str = "") -> Iterator[Listed]:
        """Every object whose path starts with ``under``, 1,000 to a request."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under)
        cut = len(self.prefix)
        try:
            for page in pages:
                self._count("list")
                for row in page.get("Contents", ()):
                    yield Listed(row["Key"][cut:], int(row["Size"]), str(row["ETag"]))
        except Exception as exc:
            _raise(exc, f"list s3://{self.bucket}/{self.prefix}{under}")

    def _call(self, method: str, path: str, **arguments: Any) -> Any:
        key = self.prefix + path
        try:
            return getattr(self.client, method)(Bucket=self.bucket, Key=key, **arguments)
        except Exception as exc:
            _raise(exc, f"{method.split('_')[0]} s3://{self.bucket}/{key}")


def _aware(moment: datetime) -> datetime:
    """A time in UTC where the store wrote none (``-0000`` in a Date header, say)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _raise(exc: Exception, what: str) -> NoReturn:
    """Raise a boto failure as one StoreError line of the subclass the caller acts on;
    anything else (a bug) as it is."""
    import botocore.exceptions

    if not isinstance(exc, botocore.exceptions.BotoCoreError | botocore.exceptions.ClientError):
        raise exc
    raise _error(exc, what, botocore.exceptions) from None


def _error(exc: Exception, what: str, exceptions: Any) -> StoreError:
    """The StoreError for a boto failure (``exceptions``: botocore's module of them)."""
    if isinstance(exc, exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = f"{what}: {code or status} {error.get('Message', '')}".strip()
        if status == 412 or code in ("PreconditionFailed", "ConditionalRequestConflict"):
            return PreconditionFailed(message)
        if code in ("NoSuchKey", "404") or (status == 404 and code != "NoSuchBucket"):
            return NotFound(message)
        if code in REFUSED:
            return StoreError(f"{message} (refused: check the credentials and their rights)")
        return StoreError(message)
    if isinstance(exc, exceptions.NoCredentialsError):
        return StoreError(f"{what}: no credentials (set AWS_ACCESS_KEY_ID and "
                          "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)")
    return StoreError(f"{what}: {' '.join(str(exc).split())}")


class CloudFront:
    """Invalidations of one CloudFront distribution (``AWS_ENDPOINT_URL_CLOUDFRONT`` names
    another endpoint, as boto3 reads it)."""

    def __init__(self, distribution: str) -> None:
        self.distribution = distribution
        self.client = _client("cloudfront", 2)

    def invalidate(self, paths: list[str]) -> str:
        """Ask for ``paths`` (URL paths, ``/*`` wildcards allowed) to be fetched anew; the
        invalidation's id."""
        batch = {"Paths": {"Quantity": len(paths), "Items": paths},
                 "CallerReference": f"seedfeeds-{time.time_ns()}"}
        try:
            answer = self.client.create_invalidation(DistributionId=self.distribution,
                                                     InvalidationBatch=batch)
        except Exception as exc:
            _raise(exc, f"invalidate on CloudFront {self.distribution}")
        return str(answer["Invalidation"]["Id"])
