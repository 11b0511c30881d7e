import factory

from banso.playbooks.models import ChecklistItem, Task, TaskComment

from ..core.factories import UserFactory


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"タスク{n}")
    intent = "解約の兆候があるため、利用状況を確認する"
    owner = factory.SubFactory(UserFactory)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChecklistItem

    task = factory.SubFactory(TaskFactory)
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Sequence(lambda n: f"確認項目{n}")


class TaskCommentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaskComment

    task = factory.SubFactory(TaskFactory)
    body = "確認しました"
