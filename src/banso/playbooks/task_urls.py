"""Addresses of the task pages, included under tasks/ in the `playbooks` namespace."""

from django.urls import path

from . import task_views as views

urlpatterns = [
    path("", views.task_list, name="tasks"),
    path("board/", views.task_board, name="task_board"),
    path("new/", views.task_create, name="task_create"),
    path("stats/", views.task_stats, name="task_stats"),
    path("<int:pk>/", views.task_detail, name="task"),
    path("<int:pk>/move/", views.task_move, name="task_move"),
    path("<int:pk>/status/", views.task_status, name="task_status"),
    path("<int:pk>/checklist/<int:item>/toggle/", views.task_toggle, name="task_toggle"),
    path("<int:pk>/comments/", views.task_comment, name="task_comment"),
    path("<int:pk>/delegate/", views.task_delegate, name="task_delegate"),
    path("<int:pk>/take-back/", views.task_take_back, name="task_take_back"),
    path("<int:pk>/reassign/", views.task_reassign, name="task_reassign"),
]
