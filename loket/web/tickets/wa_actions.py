"""WhatsApp actions on the ticket page: templates (the way forward after 24 hours) and our
reactions.

Templates come from ``channels.whatsapp.templates`` (synced from Meta); only APPROVED ones
of the ticket's own number are offered. Every send goes through ``tickets.services.reply``
with the outbound ``meta["wa"]`` of docs/adr/0004.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loket.accounts.models import User
from loket.channels.models import Template
from loket.channels.whatsapp import templates
from loket.tickets import services as tickets
from loket.tickets.models import Direction, Message, Ticket
from loket.web.tickets import wa_timeline
from loket.web.tickets.views import (
    agent_of,
    default_identity,
    page_context,
    timeline_context,
    visible_detail,
)
from loket.web.tickets.wa_compose import MAX_PARAM, approved, guesses, labels, pick


def _params(request: HttpRequest, template: Template) -> list[str]:
    values = [v.strip()[:MAX_PARAM] for v in request.POST.getlist("params") or []]
    if request.method == "GET":
        values = [v.strip()[:MAX_PARAM] for v in request.GET.getlist("params")]
    wanted = len(labels(template))
    return (values + [""] * wanted)[:wanted]


def _form_context(
    ticket: Ticket, template: Template, params: list[str], errors: list[str]
) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "template": template,
        "fields": list(zip(labels(template), params, strict=True)),
        "preview": templates.render(template, params),
        "errors": errors,
    }


@login_required
@require_GET
def template_menu(request: HttpRequest, number: int) -> HttpResponse:
    """The approved templates to pick from (loaded when the picker opens)."""
    ticket = visible_detail(agent_of(request), number)
    return render(
        request,
        "web/tickets/wa_template_menu.html",
        {"ticket": ticket, "templates": approved(ticket)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def template(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    """GET: the picked template's parameters, prefilled, with a preview. POST: send it."""
    user = agent_of(request)
    ticket = visible_detail(user, number)
    chosen = pick(ticket, pk)
    if request.method == "GET":
        context = _form_context(ticket, chosen, guesses(chosen, ticket), [])
        return render(request, "web/tickets/wa_template_form.html", context)
    params = _params(request, chosen)
    errors = [
        _("Fill in %(label)s.") % {"label": label}
        for label, value in zip(labels(chosen), params, strict=True)
        if not value
    ]
    if not errors:
        try:
            _send_template(ticket, user, chosen, params)
        except ValidationError as exc:
            errors = list(exc.messages)
        except templates.TemplateError:
            errors = [_("This template changed since the page was loaded; pick it again.")]
    if errors:
        context = _form_context(ticket, chosen, params, errors)
        return render(request, "web/tickets/wa_template_form.html", context, status=422)
    fresh = visible_detail(user, number)
    response = render(request, "web/tickets/sent.html", page_context(request, user, fresh))
    response["HX-Retarget"] = f"#composer-{number}"
    response["HX-Reswap"] = "outerHTML"
    return response


def _send_template(ticket: Ticket, user: User, chosen: Template, params: list[str]) -> Message:
    with transaction.atomic():
        return templates.send(ticket, user, chosen, params, default_identity(ticket))


@login_required
@require_GET
def template_preview(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    """The template's text with the values typed so far."""
    ticket = visible_detail(agent_of(request), number)
    chosen = pick(ticket, pk)
    return render(
        request,
        "web/tickets/wa_template_preview.html",
        {"preview": templates.render(chosen, _params(request, chosen))},
    )


def _refuse(request: HttpRequest, text: str) -> HttpResponse:
    """A refusal in words. For htmx, the page stays as it is and says it in the conversation's
    toast (the ``loket:toast`` event); a plain form post gets the words with 422."""
    if request.headers.get("HX-Request") != "true":
        return HttpResponse(text, status=422, content_type="text/plain; charset=utf-8")
    response = HttpResponse(status=200)
    response["HX-Reswap"] = "none"
    response["HX-Trigger"] = json.dumps({"loket:toast": text})  # ASCII-escaped
    return response


@login_required
@require_POST
def react(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    """Our reaction to a customer's WhatsApp message; answers with the timeline. Picking the
    reaction we already gave takes it away (WhatsApp removes a reaction sent empty)."""
    user = agent_of(request)
    ticket = visible_detail(user, number)
    target = next((m for m in ticket.messages.all() if m.pk == pk), None)
    emoji = request.POST.get("emoji", "")
    if (
        target is None
        or target.direction != Direction.INBOUND
        or not target.external_id
        or ticket.channel.kind != "whatsapp"
    ):
        raise Http404
    if emoji not in wa_timeline.REACTIONS:
        return _refuse(request, _("Pick one of the offered reactions."))
    if wa_timeline.our_reaction(list(ticket.messages.all()), target.external_id) == emoji:
        emoji = ""
    meta = {"wa": {"reaction": {"message_id": target.external_id, "emoji": emoji}}}
    try:
        tickets.reply(ticket, user, "", identity=target.identity, meta=meta)
    except ValidationError as exc:
        return _refuse(request, " ".join(exc.messages))
    fresh = visible_detail(user, number)
    return render(request, "web/tickets/timeline.html", timeline_context(user, fresh))
