"""Changes to agents and teams. Each one is recorded in the event log."""

from __future__ import annotations

import logging
import smtplib
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from loket.accounts.models import Availability, Role, Team, User
from loket.audit import services as audit
from loket.core import site

log = logging.getLogger(__name__)


def create_agent(
    *,
    email: str,
    name: str,
    role: str = Role.AGENT,
    password: str,
    teams: Sequence[str] = (),
    actor: User | None = None,
) -> User:
    """A new agent who signs in with ``email``. Teams named but missing are created.

    Raises ValidationError (with every reason) for a bad email, role or password, or an email
    already in use. Admins also get Django's admin site.
    """
    email, name = _checked_identity(email, name.strip(), role)
    candidate = User(email=email, username=email, name=name, role=role)
    password_validation.validate_password(password, candidate)
    team_names = [" ".join(t.split()) for t in teams if t.strip()]
    with transaction.atomic():
        user = _new_user(email, password, name=name, role=role)
        created_teams = []
        members = []
        for team_name in team_names:
            team, created = Team.objects.get_or_create(name=team_name)
            members.append(team)
            if created:
                created_teams.append(team.name)
                audit.append(
                    "team.created",
                    actor=audit.actor_for(actor),
                    subject_type="team",
                    subject_id=team.pk,
                    data={"name": team.name},
                )
        user.teams.set(members)
        audit.append(
            "agent.created",
            actor=audit.actor_for(actor),
            subject_type="user",
            subject_id=user.pk,
            data={"email": email, "role": role, "teams": [t.name for t in members]},
        )
    return user


def set_availability(user: User, value: str) -> bool:
    """Set the agent's availability (online / away / offline). Returns whether it changed.

    A conditional UPDATE: setting the value the agent already has writes nothing and records
    no event, so a switch clicked twice (or two tabs) leaves one entry in the log.
    """
    if value not in Availability.values:
        raise ValidationError(
            _("Unknown availability %(value)s; choose one of: %(values)s.")
            % {"value": value, "values": ", ".join(Availability.values)}
        )
    with transaction.atomic():
        changed = (
            User.objects.filter(pk=user.pk).exclude(availability=value).update(availability=value)
        )
        if changed:
            audit.append(
                "agent.availability_changed",
                actor=audit.actor_for(user),
                subject_type="user",
                subject_id=user.pk,
                data={"availability": value},
            )
    user.availability = value
    return bool(changed)


def set_preferences(
    user: User, *, language: str | None = None, time_zone: str | None = None
) -> list[str]:
    """Change the agent's interface language and/or time zone; None leaves one as it is.

    Raises ValidationError for a language Loket does not speak or an unknown time zone.
    Returns the names of the fields that changed (an event is recorded only then).
    """
    changes: dict[str, str] = {}
    if language is not None and language != user.language:
        if language not in {code for code, _name in settings.LANGUAGES}:
            raise ValidationError(_("Unknown language: %s") % language, code="invalid_language")
        changes["language"] = language
    if time_zone is not None and time_zone != user.time_zone:
        if time_zone not in zoneinfo.available_timezones():
            raise ValidationError(_("Unknown time zone: %s") % time_zone, code="invalid_time_zone")
        changes["time_zone"] = time_zone
    if not changes:
        return []
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(**changes)
        audit.append(
            "agent.preferences_changed",
            actor=audit.actor_for(user),
            subject_type="user",
            subject_id=user.pk,
            data=changes,
        )
    for field, value in changes.items():
        setattr(user, field, value)
    return sorted(changes)


# --- administration (admins on the dashboard) ----------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """A new agent and the link where they choose their password."""

    user: User
    link: str
    emailed: bool  # False: no mail server is configured (or it failed); show the link


def outgoing_mail_configured() -> bool:
    """Whether Loket's own mail (invitations, password resets) reaches a real mail server."""
    mailers = getattr(settings, "MAILERS", None) or {}
    backend = str(mailers.get("default", {}).get("BACKEND", ""))
    return backend.endswith("smtp.EmailBackend")


def set_password_link(user: User, base_url: str) -> str:
    """A one-time link to choose a password (Django's password reset token)."""
    path = reverse(
        "web:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return base_url.rstrip("/") + path


def _teams_data(teams: Iterable[Team]) -> list[str]:
    return sorted(t.name for t in teams)


def _checked_identity(email: str, name: str, role: str) -> tuple[str, str]:
    """A new agent's email (normalised) and name, or ValidationError saying what is wrong."""
    email = email.strip().lower()
    validate_email(email)
    if not name:
        raise ValidationError(_("An agent needs a name."))
    _check_role(role)
    return email, name


def _new_user(email: str, password: str | None, *, name: str, role: str) -> User:
    """Create the agent's row (in the caller's transaction); admins also get Django's admin."""
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(_("An agent with the email %s already exists.") % email)
    admin = role == Role.ADMIN
    return User.objects.create_user(
        email,
        password,
        name=name,
        role=role,
        is_staff=admin,
        is_superuser=admin,
        language=site.default_language(),
    )


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(
            _("Unknown role %(role)s; choose one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)}
        )


def _other_active_admins(user: User) -> bool:
    return User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


def invite_agent(
    *,
    email: str,
    name: str,
    role: str = Role.AGENT,
    teams: Iterable[Team] = (),
    actor: User | None,
    base_url: str | None = None,
) -> Invitation:
    """Create an agent without a password and email them a link to choose one.

    The agent speaks the site's default language. When no mail server is configured, or
    sending fails, the invitation still stands: ``link`` is for the admin to pass on.
    """
    email, name = _checked_identity(email, " ".join(name.split()), role)
    members = list(teams)
    with transaction.atomic():
        # No password: unusable until they choose one through the link.
        user = _new_user(email, None, name=name, role=role)
        user.teams.set(members)
        audit.append(
            "agent.invited",
            actor=audit.actor_for(actor),
            subject_type="user",
            subject_id=user.pk,
            data={"email": email, "role": role, "teams": _teams_data(members)},
        )
    link = set_password_link(user, base_url or settings.SITE_URL)
    return Invitation(user=user, link=link, emailed=_send_invitation(user, link, actor))


def resend_invitation(user: User, *, actor: User | None, base_url: str | None = None) -> Invitation:
    """A fresh set-password link for an agent who has not chosen a password yet."""
    if user.has_usable_password():
        raise ValidationError(
            _("%s already has a password; they can reset it from the sign-in page.") % user
        )
    if not user.is_active:
        raise ValidationError(_("%s is deactivated.") % user)
    link = set_password_link(user, base_url or settings.SITE_URL)
    audit.append(
        "agent.invitation_resent",
        actor=audit.actor_for(actor),
        subject_type="user",
        subject_id=user.pk,
        data={"email": user.email},
    )
    return Invitation(user=user, link=link, emailed=_send_invitation(user, link, actor))


def _send_invitation(user: User, link: str, actor: User | None) -> bool:
    context = {
        "agent": user,
        "link": link,
        "inviter": actor,
        "business_name": site.business_name() or "Loket",
    }
    with translation.override(user.language):
        subject = " ".join(
            render_to_string("accounts/mail/invitation_subject.txt", context).split()
        )
        body = render_to_string("accounts/mail/invitation_body.txt", context)
    try:
        send_mail(subject, body, None, [user.email])
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("invitation mail to %s failed: %s", user.email, exc)
        return False
    return outgoing_mail_configured()


def update_agent(
    user: User,
    *,
    actor: User | None,
    role: str | None = None,
    teams: Iterable[Team] | None = None,
) -> User:
    """Change an agent's role and/or teams. The last active admin keeps the admin role."""
    changes: dict[str, Any] = {}
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if role is not None and role != user.role:
            _check_role(role)
            if user.role == Role.ADMIN and user.is_active and not _other_active_admins(user):
                raise ValidationError(
                    _("%s is the only admin; make someone else admin first.") % user
                )
            changes["role"] = {"from": user.role, "to": role}
            user.role = role
            user.is_staff = user.is_superuser = role == Role.ADMIN
            user.save(update_fields=["role", "is_staff", "is_superuser"])
        if teams is not None:
            wanted = list(teams)
            before = _teams_data(user.teams.all())
            after = _teams_data(wanted)
            if before != after:
                user.teams.set(wanted)
                changes["teams"] = {"from": before, "to": after}
        if changes:
            audit.append(
                "agent.changed",
                actor=audit.actor_for(actor),
                subject_type="user",
                subject_id=user.pk,
                data=changes,
            )
    return user


def set_active(user: User, active: bool, *, actor: User | None) -> User:
    """Deactivate an agent (cannot sign in, not assignable; their tickets stay) or reactivate.

    Nobody deactivates themselves, and the last active admin stays.
    """
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_active == active:
            return user
        if not active:
            if actor is not None and actor.pk == user.pk:
                raise ValidationError(_("You cannot deactivate yourself."))
            if user.role == Role.ADMIN and not _other_active_admins(user):
                raise ValidationError(
                    _("%s is the only admin; make someone else admin first.") % user
                )
        user.is_active = active
        fields = ["is_active"]
        if not active:
            user.availability = Availability.OFFLINE
            fields.append("availability")
        user.save(update_fields=fields)
        audit.append(
            "agent.reactivated" if active else "agent.deactivated",
            actor=audit.actor_for(actor),
            subject_type="user",
            subject_id=user.pk,
            data={"email": user.email},
        )
    return user


def _team_name(name: str, *, exclude: Team | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("A team needs a name."))
    if len(name) > 100:
        raise ValidationError(_("A team name has at most 100 characters."))
    clash = Team.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise ValidationError(_("There is already a team called %s.") % name)
    return name


def create_team(name: str, *, actor: User | None, members: Iterable[User] = ()) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=_team_name(name))
        people = list(members)
        team.members.set(people)
        audit.append(
            "team.created",
            actor=audit.actor_for(actor),
            subject_type="team",
            subject_id=team.pk,
            data={"name": team.name, "members": sorted(u.email for u in people)},
        )
    return team


def rename_team(team: Team, name: str, *, actor: User | None) -> Team:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        name = _team_name(name, exclude=team)
        if name != team.name:
            previous, team.name = team.name, name
            team.save(update_fields=["name"])
            audit.append(
                "team.renamed",
                actor=audit.actor_for(actor),
                subject_type="team",
                subject_id=team.pk,
                data={"from": previous, "to": name},
            )
    return team


def set_team_members(team: Team, members: Iterable[User], *, actor: User | None) -> Team:
    with transaction.atomic():
        people = list(members)
        before = set(team.members.values_list("email", flat=True))
        after = {u.email for u in people}
        if before != after:
            team.members.set(people)
            audit.append(
                "team.members_changed",
                actor=audit.actor_for(actor),
                subject_type="team",
                subject_id=team.pk,
                data={"added": sorted(after - before), "removed": sorted(before - after)},
            )
    return team
