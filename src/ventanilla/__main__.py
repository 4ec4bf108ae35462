"""`python -m ventanilla <command>` (or the `ventanilla` script): Django's manage.py."""

import os
import sys

# Commands documented with a dash (``ventanilla fetch-mail``) are Django commands whose
# module names need an underscore.
COMMAND_ALIASES = {"fetch-mail": "fetch_mail", "receive-mail": "receive_mail"}


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ventanilla.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    if len(argv) > 1:
        argv[1] = COMMAND_ALIASES.get(argv[1], argv[1])
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
