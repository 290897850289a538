"""Resolve customers by identity; merge two customers into one."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from loket.audit import services as audit
from loket.contacts.models import Contact, Identity, IdentityKind
from loket.core import clock
from loket.core.phone import InvalidPhone, normalize_phone
from loket.core.rowinsert import insert


class InvalidIdentity(ValueError):
    pass


def normalize(kind: str, value: str, *, international: bool = False) -> str:
    """The stored form of an address: E.164 for phones, lower-case for email."""
    value = value.strip()
    if kind == IdentityKind.PHONE:
        try:
            return normalize_phone(value, international=international)
        except InvalidPhone:
            raise InvalidIdentity(_("Not a valid phone number: %s") % value) from None
    if kind == IdentityKind.EMAIL:
        if "@" not in value or len(value) > 320:
            raise InvalidIdentity(_("Not a valid email address: %s") % value)
        return value.lower()
    if not value:
        raise InvalidIdentity(_("Empty address"))
    return value


@dataclass(frozen=True)
class Resolved:
    contact: Contact
    identity: Identity
    created: bool  # first sight of this address: a new contact


def _find_identity(kind: str, value: str) -> Identity | None:
    """One identity with its contact. Every inbound message asks this, so the two indexed
    reads are written out: compiling the equivalent querysets costs five times more."""
    identities = list(
        Identity.objects.raw(
            f"SELECT * FROM {Identity._meta.db_table} WHERE kind = %s AND value = %s",  # noqa: S608
            [kind, value],
        )
    )
    if not identities:
        return None
    identity = identities[0]
    identity.contact = next(
        iter(
            Contact.objects.raw(
                f"SELECT * FROM {Contact._meta.db_table} WHERE id = %s",  # noqa: S608
                [identity.contact_id],
            )
        )
    )
    return identity


def resolve(kind: str, value: str, *, name: str = "", international: bool = False) -> Resolved:
    """The contact behind an address, created on first sight. Safe under concurrent callers.

    Runs in the caller's transaction; the identity's unique constraint decides a race.
    """
    normalized = normalize(kind, value, international=international)
    identity = _find_identity(kind, normalized)
    created = identity is None
    if identity is None:
        now = clock.now()
        try:
            # SQLite runs one writer at a time, so inside a transaction no one can insert the
            # same identity between our read and our write: no savepoint needed (it costs two
            # statements on the hot path). PostgreSQL needs it to survive a lost race.
            with transaction.atomic(savepoint=connection.vendor != "sqlite"):
                contact = insert(Contact(name=name[:200], created_at=now, updated_at=now))
                identity = insert(
                    Identity(
                        contact=contact,
                        kind=kind,
                        value=normalized,
                        display_name=name[:200],
                        created_at=now,
                    )
                )
                audit.append(
                    "contact.created",
                    subject_type="contact",
                    subject_id=contact.pk,
                    data={"identity": f"{kind}:{normalized}"},
                )
        except IntegrityError:
            identity = Identity.objects.select_related("contact").get(kind=kind, value=normalized)
            created = False
    contact = identity.contact
    if name and not contact.name:
        contact.name = name[:200]
        contact.updated_at = clock.now()
        contact.save(update_fields=["name", "updated_at"])
    if name and identity.display_name != name[:200]:
        identity.display_name = name[:200]
        identity.save(update_fields=["display_name"])
    return Resolved(contact, identity, created)


def resolve_with_aliases(
    kind: str,
    value: str,
    aliases: list[tuple[str, str, bool]],
    *,
    name: str = "",
    international: bool = False,
) -> Resolved:
    """``resolve`` for a sender known by more than one address (kind, value, international).

    A WhatsApp user can arrive with a phone number and a username id, or with only one of
    them. When the primary address is new but an alias is known, the new address joins the
    alias's contact instead of starting a stranger. Aliases not yet stored are added to the
    contact; an alias that belongs to someone else is left alone (a merge is an agent's call).
    """
    known: list[Identity] = []
    missing: list[tuple[str, str]] = []
    for alias_kind, alias_value, alias_international in aliases:
        try:
            normalized = normalize(alias_kind, alias_value, international=alias_international)
        except InvalidIdentity:
            continue
        alias = _find_identity(alias_kind, normalized)
        if alias is None:
            missing.append((alias_kind, normalized))
        else:
            known.append(alias)
    primary = normalize(kind, value, international=international)
    now = clock.now()
    if known and _find_identity(kind, primary) is None:
        contact = known[0].contact
        with transaction.atomic(savepoint=connection.vendor != "sqlite"):
            insert(
                Identity(
                    contact=contact,
                    kind=kind,
                    value=primary,
                    display_name=name[:200],
                    created_at=now,
                )
            )
    resolved = resolve(kind, primary, name=name, international=international)
    for alias_kind, normalized in missing:
        with transaction.atomic(savepoint=connection.vendor != "sqlite"):
            insert(
                Identity(
                    contact=resolved.contact,
                    kind=alias_kind,
                    value=normalized,
                    display_name=name[:200],
                    created_at=now,
                )
            )
    return resolved


def change_identity(
    kind: str, old: str, new: str, *, international: bool = False
) -> Identity | None:
    """The customer's address changed (a new WhatsApp number): their identity follows.

    Returns the identity now holding ``new``; None when ``old`` is unknown. When ``new``
    already belongs to a contact, the old identity stays and the two are left for an agent
    to merge.
    """
    old_value = normalize(kind, old, international=international)
    new_value = normalize(kind, new, international=international)
    with transaction.atomic():
        identity = Identity.objects.select_for_update().filter(kind=kind, value=old_value).first()
        if identity is None:
            return Identity.objects.filter(kind=kind, value=new_value).first()
        if old_value == new_value:
            return identity
        if Identity.objects.filter(kind=kind, value=new_value).exists():
            return Identity.objects.get(kind=kind, value=new_value)
        identity.value = new_value
        identity.save(update_fields=["value"])
        audit.append(
            "contact.identity_changed",
            subject_type="contact",
            subject_id=identity.contact_id,
            data={"kind": kind, "from": old_value, "to": new_value},
        )
    return identity


def add_identity(contact: Contact, kind: str, value: str, *, actor: audit.Actor) -> Identity:
    normalized = normalize(kind, value)
    with transaction.atomic():
        existing = Identity.objects.filter(kind=kind, value=normalized).first()
        if existing is not None:
            if existing.contact_id != contact.pk:
                raise InvalidIdentity(
                    _("%s already belongs to another customer; merge the two instead.") % value
                )
            return existing
        identity = Identity.objects.create(
            contact=contact, kind=kind, value=normalized, created_at=clock.now()
        )
        audit.append(
            "contact.identity_added",
            actor=actor,
            subject_type="contact",
            subject_id=contact.pk,
            data={"identity": f"{kind}:{normalized}"},
        )
    return identity


def merge(keep: Contact, other: Contact, *, actor: audit.Actor) -> Contact:
    """Move every identity and ticket of ``other`` to ``keep``; ``other`` points at ``keep``."""
    if keep.pk == other.pk:
        raise InvalidIdentity(_("A customer cannot be merged with itself."))
    from loket.tickets.models import Ticket  # domain peer; contacts owns the merge

    with transaction.atomic():
        keep = Contact.objects.select_for_update().get(pk=keep.pk)
        other = Contact.objects.select_for_update().get(pk=other.pk)
        if other.merged_into_id is not None or keep.merged_into_id is not None:
            raise InvalidIdentity(_("This customer was already merged."))
        identities = list(other.identities.values_list("kind", "value"))
        moved_tickets = list(Ticket.objects.filter(contact=other).values_list("number", flat=True))
        other.identities.update(contact=keep)
        Ticket.objects.filter(contact=other).update(contact=keep)
        if not keep.name and other.name:
            keep.name = other.name
        keep.updated_at = clock.now()
        keep.save(update_fields=["name", "updated_at"])
        other.merged_into = keep
        other.updated_at = clock.now()
        other.save(update_fields=["merged_into", "updated_at"])
        audit.append(
            "contact.merged",
            actor=actor,
            subject_type="contact",
            subject_id=keep.pk,
            data={
                "merged_contact_id": other.pk,
                "identities": [f"{k}:{v}" for k, v in identities],
                "tickets": moved_tickets,
            },
        )
    return keep
