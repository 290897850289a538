"""The ``loket`` command: Django's management commands with Loket's settings preset.

loket run | demo | createagent | token create EMAIL | email import [FILE...]
loket audit verify | deliveries list|replay ID | migrate | ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loket.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else argv)
    args[0] = "loket"
    if len(args) == 1:
        args.append("help")
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
