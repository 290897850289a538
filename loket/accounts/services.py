"""Changes to agents and teams. Each one is recorded in the event log."""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from loket.accounts.models import Availability, Role, Team, User
from loket.audit import services as audit


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
    email = email.strip().lower()
    name = name.strip()
    validate_email(email)
    if not name:
        raise ValidationError(_("An agent needs a name."))
    if role not in Role.values:
        raise ValidationError(
            _("Unknown role %(role)s; choose one of: %(roles)s.")
            % {"role": role, "roles": ", ".join(Role.values)}
        )
    candidate = User(email=email, username=email, name=name, role=role)
    password_validation.validate_password(password, candidate)
    team_names = [" ".join(t.split()) for t in teams if t.strip()]
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An agent with the email %s already exists.") % email)
        admin = role == Role.ADMIN
        user = User.objects.create_user(
            email, password, name=name, role=role, is_staff=admin, is_superuser=admin
        )
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
