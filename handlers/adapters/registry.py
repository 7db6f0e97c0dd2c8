"""不动产登记 property registry: look a home up by certificate number or by owner name + unit number."""
from __future__ import annotations

import abc

import sqlalchemy as sa

from ..models import RegistryProperty
from ..validation import FormatError, normalize_certificate_no, validate_unit_no


class PropertyRegistry(abc.ABC):
    @abc.abstractmethod
    def by_certificate(self, certificate_no: str, check_code: str) -> RegistryProperty | None: ...

    @abc.abstractmethod
    def by_unit(self, owner_name: str, unit_no: str) -> RegistryProperty | None: ...


class SandboxPropertyRegistry(PropertyRegistry):
    """Answers from the ``registry_property`` table, seeded with demo homes."""

    def __init__(self, session):
        self.session = session

    def by_certificate(self, certificate_no, check_code):
        try:
            number = normalize_certificate_no(certificate_no)
        except FormatError:
            return None
        found = self.session.scalars(sa.select(RegistryProperty).where(
            RegistryProperty.certificate_no == number)).first()
        if found is None or found.check_code != (check_code or "").strip():
            return None
        return found

    def by_unit(self, owner_name, unit_no):
        try:
            unit = validate_unit_no(unit_no)
        except FormatError:
            return None
        found = self.session.scalars(sa.select(RegistryProperty).where(RegistryProperty.unit_no == unit)).first()
        if found is None or all(o["name"] != (owner_name or "").strip() for o in found.owners):
            return None
        return found
