"""统一身份认证平台 (粤省事 scan, 法人): who the platform says signed in.

The sandbox plays the platform on this machine: a scan names a person the demo
knows (their unified id), or a new person by name and ID number; the real platform
would answer the same two questions after its own check.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

from ..validation import validate_id_number


@dataclass(frozen=True)
class Identity:
    unified_id: str
    name: str
    id_number: str
    id_type: str = "居民身份证"
    login_kind: str = "粤省事"  # how the person signed in to the platform: 粤省事 | 账号密码 | 法人


class IdentityPlatform(abc.ABC):
    @abc.abstractmethod
    def identify(self, name: str, id_number: str) -> Identity:
        """The platform's identity of a scanned person; raises FormatError on a bad ID number."""


class SandboxIdentityPlatform(IdentityPlatform):
    """Trusts the scan: the unified id is derived from the (checked) resident ID number."""

    def identify(self, name: str, id_number: str) -> Identity:
        number = validate_id_number("居民身份证", id_number)
        return Identity(unified_id=f"yss-{number}", name=name.strip(), id_number=number)
