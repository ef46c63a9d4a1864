"""``tf.app``: ``tf.app.run(main=None, argv=None)`` and ``tf.app.flags``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

from graphvar import flags


def run(main: Callable[[list[str]], Any] | None = None, argv: list[str] | None = None) -> NoReturn:
    """Parses the known flags of argv (default sys.argv), calls main(remaining argv), exits with its result.

    Args:
      main: the program's main(argv); default ``sys.modules['__main__'].main``.
      argv: the command line (argv[0] is the program name).
    Raises:
      SystemExit: always, with main's return value (as TF1's tf.app.run).
    """
    args = sys.argv if argv is None else argv
    rest = flags.FLAGS(args)
    main = main or sys.modules["__main__"].main
    sys.exit(main(rest))
