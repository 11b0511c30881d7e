"""Enumerations shared across Banso: the roles people hold."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    OPS_MANAGER = "ops_manager", _("Ops manager")
    CSM = "csm", _("CSM")
    SUPPORT_AGENT = "support_agent", _("Support agent")
    ASSISTANT = "assistant", _("Assistant")
    VIEWER = "viewer", _("Viewer")
    MERCHANT_USER = "merchant_user", _("External merchant user")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
