"""ASGI entry point (uvicorn loket.asgi:application): the same application ``loket web``
serves, with the webhook's lean path (loket/core/asgi.py, ADR 0005)."""

from loket.core.asgi import application

__all__ = ["application"]
