"""Which channels `make run` switches on, and what is missing for the others.

Usage: python -m threshold.channels.status
"""

import os
import sys

from threshold.channels import rest, slack, telegram


def status_lines():
    rest_token = os.environ.get(rest.TOKEN_ENV)
    yield "REST webhook: " + (
        "on, behind " + rest.TOKEN_ENV if rest_token else f"closed (set {rest.TOKEN_ENV} to open it)"
    )
    yield "Web widget (socket.io): on"
    for name, module in (("Telegram", telegram), ("Slack", slack)):
        problem = module.settings_problem()
        yield f"{name}: " + ("on" if problem is None else f"off ({problem})")


def main() -> int:
    for line in status_lines():
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
