"""The navigation lists DESIGN.md's modules a role may use; modules not built yet show as coming."""

import pytest
from django.utils import translation

from banso.core.choices import Role
from banso.core.navigation import MODULES, navigation_for
from banso.core.permissions import ROLE_CAPABILITIES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _japanese():
    with translation.override("ja"):
        yield


def test_csm_sees_every_module_it_may_use_and_links_only_the_installed_ones():
    items = navigation_for(ROLE_CAPABILITIES[Role.CSM], "/accounts/")
    titles = [str(i.title) for i in items]
    assert "顧客" in titles and "データ取込" not in titles  # imports need the ops-manager role
    linked = {str(i.title): i.url for i in items}
    assert linked["顧客"] == "/accounts/"
    assert linked["サポートデスク"] == "/support/"
    assert linked["キャンペーン"] == "/campaigns/"
    assert "/marketplace/" in linked.values()
    assert next(i for i in items if str(i.title) == "顧客").active


def test_ops_manager_sees_imports():
    titles = [str(i.title) for i in navigation_for(ROLE_CAPABILITIES[Role.OPS_MANAGER], "/")]
    assert "データ取込" in titles


def test_merchant_user_sees_no_internal_module():
    assert navigation_for(ROLE_CAPABILITIES[Role.MERCHANT_USER], "/") == []


def test_every_module_of_the_domain_map_is_listed():
    assert {m.app_label for m in MODULES} >= {
        "accounts", "health", "churn", "success", "playbooks", "support",
        "marketplace", "billing", "campaigns", "funnels", "analytics",
    }  # fmt: skip
