"""Loket's URLs plus ``/bench/bare/``: a POST view that reads the body and answers "OK".

It shows what the server, Django and its middleware cost on their own, beside the webhook.
"""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from loket.urls import urlpatterns as loket_urls


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    request.read()
    return HttpResponse("OK", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare), *loket_urls]
