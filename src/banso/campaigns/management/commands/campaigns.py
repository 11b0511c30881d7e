"""`banso campaigns <action>`: offers, special rates, ASP conversions, forecasts and push campaigns.

Each area adds its own actions (`offers_cli`, `conversions_cli`, `forecasts_cli`, `push_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from banso.campaigns import conversions_cli, forecasts_cli, offers_cli, push_cli
from banso.core.area_command import AreaCommand


class Command(AreaCommand):
    help = "Campaigns: offers, special rates, ASP conversion imports, forecasts and proposals, push campaigns."
    areas = (offers_cli, conversions_cli, forecasts_cli, push_cli)
