"""WSGI entry point for gunicorn and the benchmark server."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "banso.settings")
application = get_wsgi_application()
