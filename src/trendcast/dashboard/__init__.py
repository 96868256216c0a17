"""Server-rendered web dashboard, served by the API app (see ``routes.router``)."""
