"""URLs under /api/v1/. Anything the API does not know answers in the API's JSON error format."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, path, re_path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from loket.api.errors import error_response
from loket.api.v1 import api

View = Callable[..., HttpResponseBase]


def _json_method_not_allowed(view: View) -> View:
    """ninja answers an unsupported method with a plain-text 405; keep its Allow header and
    give the body our error format."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and response.get("Content-Type", "").startswith("text/"):
            json_response = error_response(
                405, "method_not_allowed", _("This method is not allowed here.")
            )
            json_response["Allow"] = response.get("Allow", "")
            return json_response
        return response

    return wrapper


@csrf_exempt
def index(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    """/api/v1/ itself: where the documentation is (ninja's own root is an HTML 404)."""
    return JsonResponse(
        {
            "name": api.title,
            "version": api.version,
            "docs": request.build_absolute_uri(reverse("api-v1:openapi-view")),
            "openapi": request.build_absolute_uri(reverse("api-v1:openapi-json")),
        }
    )


@csrf_exempt
def unknown(request: HttpRequest, path: str = "") -> HttpResponse:
    return error_response(404, "not_found", _("Not found."))


_patterns, _app_name, _namespace = api.urls
for _pattern in _patterns:
    if isinstance(_pattern, URLPattern):
        if _pattern.name == "api-root":
            _pattern.callback = index
        else:
            _pattern.callback = _json_method_not_allowed(_pattern.callback)
_patterns.append(re_path(r"^(?P<path>.*)$", unknown, name="unknown"))

urlpatterns = [path("", (_patterns, _app_name, _namespace))]
