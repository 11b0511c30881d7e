"""`banso marketplace <action>`: bookings, providers, incidents and threshold rules from the command line.

Each area adds its own actions (`bookings_cli`, `incidents_cli`, `rules_cli`, `concierge_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from banso.core.area_command import AreaCommand
from banso.marketplace import bookings_cli, concierge_cli, incidents_cli, providers_cli, rules_cli


class Command(AreaCommand):
    help = "Marketplace: bookings, providers, incidents, threshold rules and their actions, the concierge."
    areas = (bookings_cli, providers_cli, incidents_cli, rules_cli, concierge_cli)
