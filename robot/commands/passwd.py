"""``robot passwd [--name NAME --role viewer|admin] [--stdin]``: a supervisor password hash.

Prints the scrypt hash to put in ``DOZVON_SUPERVISORS``; with ``--name`` it prints a whole
account entry as JSON. The password is asked twice on a terminal, or read from stdin.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("passwd", help="print a password hash for a supervisor account")
    p.add_argument("--name", help="print a whole account entry for this user name")
    p.add_argument("--role", choices=("viewer", "admin"), default="viewer")
    p.add_argument("--stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from robot.web.auth import hash_password

    if args.stdin or not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 1
    if len(password) < 8:
        print("use at least 8 characters", file=sys.stderr)
        return 1
    encoded = hash_password(password)
    if args.name:
        entry = {"name": args.name, "role": args.role, "password": encoded}
        print(json.dumps(entry, ensure_ascii=False))
    else:
        print(encoded)
    return 0
