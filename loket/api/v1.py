"""REST API v1 (django-ninja). (Filled in by the API work.)"""

from ninja import NinjaAPI

api = NinjaAPI(title="Loket API", version="1.0.0", urls_namespace="api-v1")
