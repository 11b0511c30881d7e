"""The playbooks module's JSON API: playbooks and runs, tasks, the outbox and trigger evaluations."""

from ninja import Router

from .outbox_api import router as outbox_router
from .playbook_api import router as playbook_router
from .task_api import router as task_router
from .trigger_api import router as trigger_router

router = Router(tags=["playbooks"])
router.add_router("/tasks", task_router)
router.add_router("/outbox", outbox_router)
router.add_router("/triggers", trigger_router)
router.add_router("", playbook_router)
