"""Load the demo shop into an empty database, through the real services.

The conversations in ``loket.demo.script`` are played in time order under a moving clock
(``loket.core.clock.at``), so tickets, messages and the hash-chained event log all tell the
same history spread over the last two weeks, and ``loket audit verify`` passes.

Only the provider's side of sending is stood in for: a reply is marked *sent* the way the
``deliver`` task would mark it, and delivered / read / failed arrive as status updates through
``tickets.services.apply_status``, as they would from WhatsApp.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.tasks.base import TaskResultStatus
from django.utils.translation import gettext_lazy as _

from loket.accounts.models import Role, Team, User
from loket.audit import services as audit
from loket.channels import services as channels
from loket.channels.items import InboundMessage, Sender, StatusUpdate
from loket.channels.models import Channel, ChannelKind
from loket.channels.whatsapp.emulator import demo as emulator
from loket.contacts import services as contacts
from loket.contacts.models import Identity
from loket.core import clock
from loket.core.phone import normalize_phone
from loket.demo import replies, script
from loket.demo.script import (
    Assign,
    Conversation,
    MergeInto,
    MoveTeam,
    Note,
    Reply,
    Say,
    SetPriority,
    SetStatus,
    Step,
    Tag,
)
from loket.tickets import services as tickets
from loket.tickets.models import DeliveryStatus, Message, Ticket

# The password of every demo login. Printed by `loket run --demo` and on the sign-in page.
PASSWORD = "coba-loket"  # noqa: S105 - published on purpose: it is the demo
SEED = 2024
HISTORY = timedelta(days=14)


class DemoRefused(Exception):
    """The database holds other data; demo logins with a published password stay out of it."""


@dataclass(frozen=True)
class DemoLogin:
    email: str
    name: str
    role: str  # translated label
    teams: tuple[str, ...]
    password: str


@dataclass(frozen=True)
class Loaded:
    tickets: int
    messages: int
    by_status: dict[str, int]


def is_loaded() -> bool:
    return User.objects.filter(email=script.STAFF[0].email).exists()


def is_empty() -> bool:
    """No agents, channels or tickets yet: a fresh install."""
    return not (User.objects.exists() or Channel.objects.exists() or Ticket.objects.exists())


def logins() -> list[DemoLogin]:
    """The demo logins that exist and are active (empty when the demo is not loaded)."""
    emails = [person.email for person in script.STAFF]
    names = dict(User.objects.filter(email__in=emails, is_active=True).values_list("email", "name"))
    return [
        DemoLogin(p.email, names[p.email], str(Role(p.role).label), p.teams, PASSWORD)
        for p in script.STAFF
        if p.email in names
    ]


def load(*, now: datetime | None = None) -> Loaded | None:
    """Load the demo; None when it is already there (nothing changes).

    Raises DemoRefused when the database holds anything else.
    """
    if is_loaded():
        return None
    if not is_empty():
        raise DemoRefused(
            _(
                "The database already holds agents, channels or tickets; the demo loads only "
                "into an empty database."
            )
        )
    player = _Player(now or clock.now())
    with transaction.atomic():
        player.setup()
        player.play()
    _drop_send_tasks({message.pk for message in player.replies.values()})
    statuses: dict[str, int] = {}
    for status in Ticket.objects.values_list("status", flat=True):
        statuses[status] = statuses.get(status, 0) + 1
    return Loaded(
        tickets=Ticket.objects.count(), messages=Message.objects.count(), by_status=statuses
    )


def _drop_send_tasks(message_ids: set[int]) -> None:
    """The demo's replies were "sent" by the player; their queued send tasks would be no-ops."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return
    from django_tasks_db.models import DBTaskResult

    queued = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path="loket.tickets.tasks.deliver"
    ).values_list("pk", "args_kwargs")
    drop = [pk for pk, call in queued if (call.get("args") or [None])[0] in message_ids]
    DBTaskResult.objects.filter(pk__in=drop).delete()


Action = Callable[[], None]


class _Player:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.rng = random.Random(SEED)  # noqa: S311 - demo data, not security
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.channels: dict[str, Channel] = {}
        self.tickets: dict[int, Ticket] = {}
        self.replies: dict[tuple[int, int], Message] = {}
        self.last_out: dict[int, str] = {}

    # --- people and channels ------------------------------------------------------------------
    def setup(self) -> None:
        with clock.at(self.now - HISTORY):
            for name in (script.SALES, script.SHIPPING):
                self.teams[name] = Team.objects.create(name=name)
            hashed = make_password(PASSWORD)  # hash once: it is slow on purpose
            for person in script.STAFF:
                admin = person.role == Role.ADMIN
                user = User.objects.create(
                    email=person.email,
                    username=person.email,
                    password=hashed,
                    name=person.name,
                    role=person.role,
                    is_staff=admin,
                    is_superuser=admin,
                )
                user.teams.set([self.teams[t] for t in person.teams])
                self.users[person.key] = user
            replies.add(self.users)
            # Pointed at the local emulator (loket run --demo starts it); secrets encrypted.
            self.channels["whatsapp"] = channels.create_channel(
                kind=ChannelKind.WHATSAPP,
                name=script.WHATSAPP_NAME,
                address=script.WHATSAPP_NUMBER,
                team=self.teams[script.SALES],
                config=emulator.channel_config(),
                actor=None,
            )
            self.channels["email"] = Channel.objects.create(
                kind=ChannelKind.EMAIL,
                name=script.EMAIL_NAME,
                address=script.EMAIL_ADDRESS,
                team=self.teams[script.SHIPPING],
                config={"demo": True},
            )
            audit.append(
                "demo.loaded",
                actor=audit.SYSTEM,
                data={"shop": script.SHOP_NAME, "conversations": len(script.CONVERSATIONS)},
            )

    # --- the timeline -------------------------------------------------------------------------
    def play(self) -> None:
        timeline: list[tuple[datetime, int, int, int, Action]] = []
        for index, conversation in enumerate(script.CONVERSATIONS):
            timeline.extend(self._schedule(index, conversation))
        broken_at = self.now - timedelta(hours=5, minutes=12)
        timeline.append((broken_at, 10_000, 0, 0, self._broken_mail))
        timeline.sort(key=lambda entry: entry[:4])
        for at, _i, _j, _k, action in timeline:
            with clock.at(at):
                action()

    def _schedule(
        self, index: int, conversation: Conversation
    ) -> list[tuple[datetime, int, int, int, Action]]:
        start = self.now - conversation.ago
        total = sum(step.after for step in conversation.steps)
        room = (conversation.ago - timedelta(minutes=1)).total_seconds() / 60
        scale = min(1.0, room / total) if total else 1.0
        times: list[datetime] = []
        moment = start
        for step in conversation.steps:
            moment += timedelta(minutes=step.after * scale)
            times.append(moment)
        entries: list[tuple[datetime, int, int, int, Action]] = []
        for j, (step, at) in enumerate(zip(conversation.steps, times, strict=True)):
            entries.append((at, index, j, 0, self._action(index, j, conversation, step)))
            if isinstance(step, Reply):
                later = [
                    t
                    for s, t in zip(conversation.steps[j + 1 :], times[j + 1 :], strict=True)
                    if isinstance(s, Say)
                ]
                entries.extend(
                    self._delivery(
                        index=index,
                        j=j,
                        conversation=conversation,
                        step=step,
                        at=at,
                        next_say=later[0] if later else None,
                    )
                )
        return entries

    def _delivery(
        self,
        *,
        index: int,
        j: int,
        conversation: Conversation,
        step: Reply,
        at: datetime,
        next_say: datetime | None,
    ) -> list[tuple[datetime, int, int, int, Action]]:
        """The provider's side of one reply: sent, then delivered / read / failed."""
        key = (index, j)
        entries: list[tuple[datetime, int, int, int, Action]] = [
            (at + timedelta(seconds=3), index, j, 1, lambda: self._sent(key))
        ]
        if step.fail is not None:
            code, reason = step.fail
            entries.append(
                (
                    at + timedelta(seconds=9),
                    index,
                    j,
                    2,
                    lambda: self._status(key, DeliveryStatus.FAILED, code, reason),
                )
            )
            return entries
        if conversation.channel != "whatsapp":
            return entries  # email: sent is all the provider tells us
        delivered = at + timedelta(seconds=self.rng.uniform(4, 15))
        roll = self.rng.random()
        if next_say is None and roll < 0.1:
            return entries  # one grey tick: the customer's phone is off
        entries.append(
            (delivered, index, j, 2, lambda: self._status(key, DeliveryStatus.DELIVERED))
        )
        read = at + timedelta(seconds=self.rng.uniform(40, 1800))
        if next_say is not None:
            read = min(read, at + (next_say - at) * 0.8)
        elif roll < 0.4:
            return entries  # delivered, not read yet
        if delivered < read < self.now:
            entries.append((read, index, j, 3, lambda: self._status(key, DeliveryStatus.READ)))
        return entries

    # --- steps --------------------------------------------------------------------------------
    def _action(self, index: int, j: int, conversation: Conversation, step: Step) -> Action:
        def run() -> None:
            self._run(index, j, conversation, step)

        return run

    def _run(self, index: int, j: int, conversation: Conversation, step: Step) -> None:
        if isinstance(step, Say):
            self._say(index, j, conversation, step)
            return
        ticket = self.tickets[index]
        if isinstance(step, Reply):
            agent = self.users[step.agent]
            if ticket.assignee_id is None:  # whoever answers an unassigned ticket takes it
                ticket = tickets.assign(ticket, agent, actor=agent)
            meta = {}
            if step.template:
                name, *params = step.template
                meta = {"wa": {"template": {"name": name, "language": "id", "params": params}}}
            message = tickets.reply(ticket, agent, step.text, meta=meta)
            self.replies[(index, j)] = message
        elif isinstance(step, Note):
            tickets.add_note(ticket, self.users[step.agent], step.text)
        elif isinstance(step, Assign):
            tickets.assign(ticket, self.users[step.agent], actor=self.users[step.by])
        elif isinstance(step, SetStatus):
            actor = self.users[step.by] if step.by else None
            tickets.set_status(ticket, step.status, actor=actor)
        elif isinstance(step, Tag):
            current = list(ticket.tags.values_list("name", flat=True))
            tickets.set_tags(ticket, [*current, *step.tags], actor=self.users[step.by])
        elif isinstance(step, SetPriority):
            tickets.set_priority(ticket, step.priority, actor=self.users[step.by])
        elif isinstance(step, MoveTeam):
            tickets.set_team(ticket, self.teams[step.team], actor=self.users[step.by])
        elif isinstance(step, MergeInto):
            keep = Identity.objects.select_related("contact").get(
                kind="phone", value=normalize_phone(step.address)
            )
            contacts.merge(keep.contact, ticket.contact, actor=audit.actor_for(self.users[step.by]))
        self.tickets[index] = Ticket.objects.get(pk=ticket.pk)

    def _say(self, index: int, j: int, conversation: Conversation, step: Say) -> None:
        channel = self.channels[conversation.channel]
        if conversation.channel == "whatsapp":
            wa_id = normalize_phone(conversation.address).removeprefix("+")
            item = InboundMessage(
                external_id=f"wamid.demo.in.{index}.{j}",
                sender=Sender("phone", wa_id, conversation.customer, international=True),
                text=step.text,
                sent_at=clock.now(),
                reply_to_external_id=self.last_out.get(index, ""),
            )
        else:
            domain = conversation.address.rpartition("@")[2]
            earlier = self.last_out.get(index, "")
            subject = (
                conversation.subject
                if index not in self.tickets
                else (f"Re: {conversation.subject}")
            )
            item = InboundMessage(
                external_id=f"demo.{index}.{j}@{domain}",
                sender=Sender("email", conversation.address, conversation.customer),
                subject=subject,
                text=step.text,
                sent_at=clock.now(),
                reply_to_external_id=earlier,
                thread_external_ids=[earlier] if earlier else [],
                threading="mail",
            )
        received = tickets.receive(channel, item)
        self.tickets[index] = Ticket.objects.get(pk=received.message.ticket_id)

    def _sent(self, key: tuple[int, int]) -> None:
        """What the ``deliver`` task records once the provider accepts a message."""
        message = self.replies[key]
        channel = message.channel
        if channel is None:
            raise RuntimeError("a reply always has a channel")
        if channel.kind == ChannelKind.WHATSAPP:
            external_id = f"wamid.demo.out.{key[0]}.{key[1]}"
        else:
            external_id = f"loket.{message.ticket.number}.{message.pk}@{script.STAFF_DOMAIN}"
        with transaction.atomic():
            Message.objects.filter(pk=message.pk, delivery_status=DeliveryStatus.QUEUED).update(
                delivery_status=DeliveryStatus.SENT,
                external_id=external_id,
                sent_at=clock.now(),
                attempts=1,
            )
            audit.append(
                "message.sent",
                subject_type="message",
                subject_id=message.pk,
                ticket_id=message.ticket_id,
                data={"channel": channel.kind, "external_id": external_id},
            )
        self.last_out[key[0]] = external_id

    def _status(self, key: tuple[int, int], status: str, code: str = "", reason: str = "") -> None:
        message = self.replies[key]
        external_id = Message.objects.values_list("external_id", flat=True).get(pk=message.pk)
        if message.channel is None or external_id is None:
            raise RuntimeError("a status can only follow a sent reply")
        tickets.apply_status(
            message.channel,
            StatusUpdate(
                external_id=external_id,
                status=status,
                at=clock.now(),
                error_code=code,
                error_reason=reason,
            ),
        )

    def _broken_mail(self) -> None:
        delivery = channels.store_delivery(
            self.channels["email"],
            script.BROKEN_MAIL,
            headers={"source": "demo"},
            process=False,
        )
        # It fails on purpose; its warning would only alarm someone watching the demo load.
        quiet = logging.getLogger(channels.__name__)
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            channels.process(delivery.pk)
        finally:
            quiet.setLevel(level)
