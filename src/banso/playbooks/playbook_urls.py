from django.urls import path

from . import playbook_views as views

urlpatterns = [
    path("playbooks/", views.playbook_list, name="playbooks"),
    path("playbooks/new/", views.playbook_edit, name="playbook_new"),
    path("playbooks/<int:pk>/", views.playbook_detail, name="playbook"),
    path("playbooks/<int:pk>/edit/", views.playbook_edit, name="playbook_edit"),
    path("playbooks/<int:pk>/steps/", views.step_add, name="step_add"),
    path("playbooks/start/", views.playbook_start, name="playbook_start"),
    path("playbooks/start/<int:account_id>/", views.playbook_start_form, name="playbook_start_form"),
    path("playbooks/steps/<int:pk>/", views.step_edit, name="step_edit"),
    path("playbooks/steps/<int:pk>/move/", views.step_move, name="step_move"),
    path("playbooks/steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("playbooks/runs/<int:pk>/", views.run_detail, name="run"),
    path("playbooks/runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("templates/", views.template_list, name="templates"),
    path("templates/tasks/new/", views.task_template_edit, name="task_template_new"),
    path("templates/tasks/<int:pk>/", views.task_template_edit, name="task_template"),
    path("templates/emails/new/", views.email_template_edit, name="email_template_new"),
    path("templates/emails/<int:pk>/", views.email_template_edit, name="email_template"),
    path("templates/emails/preview/", views.email_template_preview, name="email_template_preview"),
    path("templates/emails/<int:pk>/test/", views.email_template_test, name="email_template_test"),
]
