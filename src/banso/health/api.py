"""Health in the JSON API."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["health"])

# Surveys: their own router (health/survey_api.py), under /api/health/surveys.
from .survey_api import survey_router  # noqa: E402

router.add_router("/surveys", survey_router)
