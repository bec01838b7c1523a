"""Print the vLLM server flags of each agent role under a profile, one line per role: ``ROLE FLAGS``.

``python -m aurelia_local.app.serve_flags --profile smoke generator summarizer``; used by
``scripts/serve_agents.sh``.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from aurelia_local.core.config import load_settings
from aurelia_local.engines.server_flags import server_flags


def main(argv: list[str] | None = None) -> int:
    """Print ``ROLE FLAGS`` lines for the given roles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("roles", nargs="+")
    args = parser.parse_args(argv)
    settings = load_settings(args.profile, overrides=args.overrides)
    for role in args.roles:
        sys.stdout.write(f"{role} {shlex.join(server_flags(settings, role))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
