"""Teams: the list, a new team, renaming and members."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from loket.accounts import selectors, services
from loket.accounts.models import Team
from loket.web.manage.access import admin, admin_required
from loket.web.manage.forms import TeamForm

UNPROCESSABLE = 422


@admin_required
def team_list(request: HttpRequest) -> HttpResponse:
    form = TeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.create_team(
                form.cleaned_data["name"],
                members=form.cleaned_data["members"],
                actor=admin(request),
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, _("Team %s is created.") % team)
            return redirect("web:manage:teams")
    status = UNPROCESSABLE if form.errors else 200
    return render(
        request,
        "web/manage/teams.html",
        {"teams": selectors.teams(), "form": form},
        status=status,
    )


@admin_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    team = get_object_or_404(Team, pk=pk)
    initial = {"name": team.name, "members": list(team.members.all())}
    form = TeamForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor = admin(request)
        try:
            services.rename_team(team, form.cleaned_data["name"], actor=actor)
            services.set_team_members(team, form.cleaned_data["members"], actor=actor)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, _("Team %s is saved.") % form.cleaned_data["name"])
            return redirect("web:manage:teams")
    status = UNPROCESSABLE if form.errors else 200
    return render(request, "web/manage/team_form.html", {"team": team, "form": form}, status=status)
