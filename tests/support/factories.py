"""Shared test factories for the support desk: agents, teams with desk settings, inquiries, messages, macros.

`InquiryFactory` writes the row directly (no SLA/classifier hooks); use `desk.open_inquiry` in tests that
care about what the desk does on arrival.
"""

import factory
from django.utils import timezone

from banso.core.choices import Role
from banso.support import desk
from banso.support.models import (
    AuthorKind,
    Category,
    Channel,
    Inquiry,
    InquiryType,
    Macro,
    Message,
    Priority,
    Tag,
    TeamRequest,
    TeamSettings,
)

from ..core.factories import TeamFactory, UserFactory


class AgentFactory(UserFactory):
    """A support agent (WORK_INQUIRIES)."""

    username = factory.Sequence(lambda n: f"agent{n}")
    display_name = factory.Sequence(lambda n: f"担当者{n}")
    role = Role.SUPPORT_AGENT


class SupportTeamFactory(TeamFactory):
    """A team with desk settings (round-robin on unless `support__round_robin=False`)."""

    class Meta:
        model = TeamSettings._meta.get_field("team").related_model
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"サポート{n}課")

    @factory.post_generation
    def support(obj, create, extracted, **kwargs):
        if create:
            TeamSettings.objects.get_or_create(team=obj, defaults={"round_robin": kwargs.get("round_robin", True)})

    @factory.post_generation
    def members(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.members.add(*extracted)


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"タグ{n}")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    code = factory.Sequence(lambda n: f"cat-{n}")
    name = factory.Sequence(lambda n: f"カテゴリ{n}")
    path = factory.LazyAttribute(lambda o: o.name)


class InquiryTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InquiryType
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"種別{n}")


def _number() -> int:
    return desk.next_number()


class InquiryFactory(factory.django.DjangoModelFactory):
    """An inquiry row with one customer message (`status="open"` etc. takes a status key)."""

    class Meta:
        model = Inquiry
        skip_postgeneration_save = True

    number = factory.LazyFunction(_number)
    subject = factory.Sequence(lambda n: f"予約について{n}")
    channel = Channel.EMAIL
    status = factory.LazyFunction(lambda: desk.status("new"))
    priority = Priority.NORMAL
    requester_name = factory.Sequence(lambda n: f"山田花子{n}")
    requester_email = factory.Sequence(lambda n: f"customer{n}@example.jp")
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)
    last_customer_message_at = factory.LazyAttribute(lambda o: o.created_at)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        if isinstance(kwargs.get("status"), str):
            kwargs["status"] = desk.status(kwargs["status"])
        return super()._create(model_class, *args, **kwargs)

    @factory.post_generation
    def first_message(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            Message.objects.create(
                inquiry=obj,
                author_kind=AuthorKind.CUSTOMER,
                author_name=obj.requester_name,
                body=extracted or "予約の日時を変更したいです。",
                channel=obj.channel,
                created_at=obj.created_at,
            )

    @factory.post_generation
    def tags(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.tags.add(*[TagFactory(name=t) if isinstance(t, str) else t for t in extracted])


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    inquiry = factory.SubFactory(InquiryFactory)
    author_kind = AuthorKind.CUSTOMER
    author_name = factory.LazyAttribute(lambda o: o.inquiry.requester_name)
    body = "ご確認をお願いします。"
    channel = factory.LazyAttribute(lambda o: o.inquiry.channel)
    created_at = factory.LazyFunction(timezone.now)


class TeamRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamRequest

    inquiry = factory.SubFactory(InquiryFactory)
    to_name = "出店者コンサルタント"
    question = "出店者に確認をお願いします。"
    requested_by = factory.SubFactory(AgentFactory)


class MacroFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Macro

    name = factory.Sequence(lambda n: f"定型文{n}")
    body = "{{ requester_name }} 様\nお問い合わせ #{{ number }} を承りました。"
