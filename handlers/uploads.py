"""Storing uploaded files: type by content (not by name), size limit, content hash, never overwritten.

Files are stored content-addressed (``<dir>/<sha256[:2]>/<sha256>``): the same
content uploaded twice is one file, and no upload can replace another's bytes.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .models import Upload

SIGNATURES = [  # (magic bytes, mime, allowed extensions)
    (b"%PDF-", "application/pdf", {".pdf"}),
    (b"\xff\xd8\xff", "image/jpeg", {".jpg", ".jpeg"}),
    (b"\x89PNG\r\n\x1a\n", "image/png", {".png"}),
]


class UploadError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def sniff(data: bytes) -> tuple[str, set[str]] | None:
    for magic, mime, extensions in SIGNATURES:
        if data.startswith(magic):
            return mime, extensions
    return None


@dataclass(frozen=True)
class StoredFile:
    """Checked bytes, already in content-addressed storage; an ``Upload`` row makes them part of a case."""

    material: str
    original_name: str
    mime: str
    size: int
    sha256: str
    storage_path: str


def save_file(*, material: str, filename: str, data: bytes, upload_dir: str, max_bytes: int,
              field: str = "file") -> StoredFile:
    """Check a file by content and store its bytes; an orphan file is harmless (content-addressed)."""
    label = f"「{material}」的文件"
    if not data:
        raise UploadError(field, f"{label}为空，请重新选择")
    if len(data) > max_bytes:
        raise UploadError(field, f"{label}超过{max_bytes // (1024 * 1024)}MB，请压缩后再上传")
    found = sniff(data)
    if found is None:
        raise UploadError(field, f"{label}不是PDF、JPEG或PNG文件（按文件内容判断）")
    mime, extensions = found
    extension = Path(filename or "").suffix.lower()
    if extension not in extensions:
        raise UploadError(field, f"{label}的扩展名「{extension or '无'}」与内容（{mime}）不符")
    digest = hashlib.sha256(data).hexdigest()
    path = Path(upload_dir) / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # atomic: a reader never sees half a file
    return StoredFile(material, Path(filename).name[:255], mime, len(data), digest, str(path))


def upload_row(stored: StoredFile, *, contract_id: int, uploader: str, now=None) -> Upload:
    upload = Upload(contract_id=contract_id, material=stored.material, original_name=stored.original_name,
                    mime=stored.mime, size=stored.size, sha256=stored.sha256, storage_path=stored.storage_path,
                    uploaded_by=uploader)
    if now is not None:
        upload.uploaded_at = now
    return upload


def store_upload(session, *, contract_id: int, material: str, filename: str, data: bytes, uploader: str,
                 upload_dir: str, max_bytes: int, field: str = "file", now=None) -> Upload:
    stored = save_file(material=material, filename=filename, data=data, upload_dir=upload_dir,
                       max_bytes=max_bytes, field=field)
    upload = upload_row(stored, contract_id=contract_id, uploader=uploader, now=now)
    session.add(upload)
    session.flush()
    return upload
