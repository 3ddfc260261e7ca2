"""The production backend: an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2) through aioboto3.

aioboto3 (on aiobotocore) is maintained alongside botocore, is natively async, and
does SigV4 request signing and presigned URLs, so none of that is hand-written here.
One client is opened lazily per store and reused (its connection pool serves every
request of the process); :meth:`S3ObjectStore.close` releases it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import urlsplit

import aioboto3
from aiobotocore.config import AioConfig  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from conjure.settings import Settings
from conjure.storage.base import ObjectNotFound, check_key
from conjure.storage.uploads import PresignedUpload, UploadPolicy

_MISSING = {"404", "NoSuchKey", "NotFound"}


class S3ObjectStore:
    """Objects in ``bucket`` under an optional ``prefix``."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        region: str = "us-east-1",
        endpoint_url: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str = "auto",
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url or None
        self._session = aioboto3.Session(
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            region_name=region,
        )
        # SigV4 everywhere (some regions still default presigning to V2); path-style
        # addressing for custom endpoints, which rarely have wildcard DNS for buckets.
        style = "path" if addressing_style == "auto" and self.endpoint_url else addressing_style
        self._config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": style},
            retries={"max_attempts": 3, "mode": "standard"},
        )
        self._stack: AsyncExitStack | None = None
        self._client: Any = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3ObjectStore:
        """Build from ``STORAGE_URL=s3://bucket[/prefix]`` and the AWS_* / S3_* settings."""
        parts = urlsplit(settings.resolved_storage_url)
        if not parts.netloc:
            raise ValueError("STORAGE_URL must name a bucket: s3://bucket[/prefix]")
        key_id, secret = settings.aws_access_key_id, settings.aws_secret_access_key
        return cls(
            parts.netloc,
            prefix=parts.path,
            region=settings.aws_region,
            endpoint_url=settings.s3_endpoint_url or None,
            access_key_id=key_id.get_secret_value() if key_id else None,
            secret_access_key=secret.get_secret_value() if secret else None,
            addressing_style=settings.s3_addressing_style,
        )

    def object_name(self, key: str) -> str:
        """The S3 key for a store key (the prefix added)."""
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _s3(self) -> Any:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    stack = AsyncExitStack()
                    client_context = self._session.client(
                        "s3", endpoint_url=self.endpoint_url, config=self._config
                    )
                    self._client = await stack.enter_async_context(client_context)
                    self._stack = stack
        return self._client

    async def ping(self) -> None:
        s3 = await self._s3()
        await s3.head_bucket(Bucket=self.bucket)

    async def put(self, key: str, data: bytes, *, content_type: str, encrypt: bool = False) -> None:
        s3 = await self._s3()
        name = self.object_name(key)
        # SSE-S3 (AES256): the bucket's own keys, nothing to configure on AWS, R2 or MinIO with KMS.
        extra = {"ServerSideEncryption": "AES256"} if encrypt else {}
        await s3.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType=content_type, **extra)

    async def get(self, key: str) -> bytes:
        s3 = await self._s3()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                raise ObjectNotFound("No such object.") from None
            raise
        async with response["Body"] as body:
            data: bytes = await body.read()
        return data

    async def delete(self, key: str) -> None:
        s3 = await self._s3()
        await s3.delete_object(Bucket=self.bucket, Key=self.object_name(key))

    async def exists(self, key: str) -> bool:
        s3 = await self._s3()
        try:
            await s3.head_object(Bucket=self.bucket, Key=self.object_name(key))
        except ClientError as exc:
            if _error_code(exc) in _MISSING:
                return False
            raise
        return True

    async def presigned_get_url(self, key: str, *, expires_seconds: int) -> str:
        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self.object_name(key)},
            ExpiresIn=expires_seconds,
        )
        return url

    async def presigned_put_url(self, key: str, *, content_type: str, expires_seconds: int) -> str:
        s3 = await self._s3()
        url: str = await s3.generate_presigned_url(
            "put_object",
            Params={"Bucket": self.bucket, "Key": self.object_name(key), "ContentType": content_type},
            ExpiresIn=expires_seconds,
        )
        return url

    async def presigned_upload(self, policy: UploadPolicy) -> PresignedUpload:
        """A presigned POST whose policy pins the key and Content-Type and bounds the size."""
        s3 = await self._s3()
        content_type = policy.content_type
        post: dict[str, Any] = await s3.generate_presigned_post(
            Bucket=self.bucket,
            Key=self.object_name(policy.key),  # botocore adds the exact-key condition itself
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["content-length-range", policy.min_bytes, policy.max_bytes],
            ],
            ExpiresIn=policy.expires_seconds,
        )
        return PresignedUpload(
            method="POST",
            url=post["url"],
            key=policy.key,
            fields={str(name): str(value) for name, value in post["fields"].items()},
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=policy.expires_seconds),
        )

    async def close(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._client = self._stack, None, None
            await stack.aclose()


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
