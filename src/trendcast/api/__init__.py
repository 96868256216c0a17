"""The trendcast REST API (FastAPI): ``create_app`` in ``trendcast.api.app``.

Routes are thin: they check input and roles, call the services, and turn the domain's typed
errors into JSON error bodies (``api.errors``).
"""
