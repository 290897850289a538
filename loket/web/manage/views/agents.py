"""Agents: the list, invitations, role and teams, deactivation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loket.accounts import selectors, services
from loket.accounts.models import User
from loket.web.manage.access import admin, admin_required, is_htmx
from loket.web.manage.forms import AgentForm, InviteForm

UNPROCESSABLE = 422


def _row(request: HttpRequest, agent: User, *, error: str = "") -> HttpResponse:
    return render(request, "web/manage/agents.html#agent_row", {"agent": agent, "row_error": error})


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("web:manage:agents")


@admin_required
def agent_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/manage/agents.html", {"agents": selectors.agents()})


@admin_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invite_agent(
                email=form.cleaned_data["email"],
                name=form.cleaned_data["name"],
                role=form.cleaned_data["role"],
                teams=form.cleaned_data["teams"],
                actor=admin(request),
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return render(request, "web/manage/invited.html", {"invitation": invitation})
    status = UNPROCESSABLE if form.errors else 200
    return render(request, "web/manage/invite.html", {"form": form}, status=status)


@admin_required
@require_POST
def resend(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(User, pk=pk)
    try:
        invitation = services.resend_invitation(
            agent, actor=admin(request), base_url=request.build_absolute_uri("/")
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("web:manage:agents")
    return render(request, "web/manage/invited.html", {"invitation": invitation})


@admin_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(User, pk=pk)
    initial = {"role": agent.role, "teams": list(agent.teams.all())}
    form = AgentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_agent(
                agent,
                role=form.cleaned_data["role"],
                teams=form.cleaned_data["teams"],
                actor=admin(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%s is saved.") % agent)
            return redirect("web:manage:agents")
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request, "web/manage/agent_form.html", {"agent": agent, "form": form}, status=status
    )


def _set_active(request: HttpRequest, pk: int, active: bool) -> HttpResponse:
    agent = get_object_or_404(User, pk=pk)
    error = ""
    try:
        agent = services.set_active(agent, active, actor=admin(request))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        agent = selectors.agents().get(pk=agent.pk)
        return _row(request, agent, error=error)
    if error:
        messages.error(request, error)
    elif active:
        messages.success(request, _("%s can sign in again.") % agent)
    else:
        messages.success(request, _("%s is deactivated; their tickets stay.") % agent)
    return redirect("web:manage:agents")


@admin_required
@require_POST
def deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=False)


@admin_required
@require_POST
def reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    return _set_active(request, pk, active=True)
