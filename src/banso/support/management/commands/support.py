"""`banso support <action>`: the support desk from the command line.

Each area adds its own actions (`inbox_cli`, `sla_cli`, `kb_cli`, `analytics_cli`, `chat_cli`: an
`add_actions(actions)` that registers subparsers whose defaults carry `run=<callable(command, **options)>`).
"""

from banso.core.area_command import AreaCommand
from banso.support import analytics_cli, chat_cli, inbox_cli, kb_cli, sla_cli


class Command(AreaCommand):
    help = "Support desk: inquiries, SLA, knowledge base, chat and mail channels, classifier, analytics."
    areas = (inbox_cli, sla_cli, kb_cli, analytics_cli, chat_cli)
