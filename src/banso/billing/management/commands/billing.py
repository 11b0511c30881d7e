"""`banso billing <action>`: merchant operations from the command line.

Each area adds its own actions (`close_cli`, `report_cli`, `recon_cli`, `newsletter_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
`banso billing --help` lists them all.
"""

from banso.billing import close_cli, newsletter_cli, recon_cli, report_cli
from banso.core.area_command import AreaCommand


class Command(AreaCommand):
    help = "Merchant billing: month close, statements and invoices, reports, reconciliation, newsletters."
    areas = (close_cli, report_cli, recon_cli, newsletter_cli)
