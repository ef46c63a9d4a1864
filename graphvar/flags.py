"""``tf.app.flags`` / ``tf.flags``: absl-style flag definitions on top of argparse.

Flags are defined at import time (``DEFINE_string("data_dir", "/tmp", "help")``) and read as
``FLAGS.data_dir``. Reading a flag before parsing parses ``sys.argv`` (unknown arguments are left
for the program), as TF1's flags do; ``tf.app.run`` parses explicitly and passes the rest to main.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _bool(value: str) -> bool:
    v = value.lower()
    if v in ("true", "t", "1", "yes", "y"):
        return True
    if v in ("false", "f", "0", "no", "n"):
        return False
    raise argparse.ArgumentTypeError(f"Non-boolean argument to boolean flag: {value!r}")


def _list(value: str) -> list[str]:
    return [s for s in value.split(",") if s] if value else []


class _FlagValues:
    """The FLAGS object: attribute access to flag values; parses sys.argv on first read."""

    def __init__(self) -> None:
        object.__setattr__(self, "_defs", {})
        object.__setattr__(self, "_values", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, name: str, default: Any, help: str, kind: Any) -> None:  # noqa: A002
        if name in self._defs:
            raise DuplicateFlagError(f"The flag '{name}' is defined twice.")
        self._defs[name] = (default, help, kind)
        self._values[name] = default

    def __call__(self, argv: list[str]) -> list[str]:
        """Parses the known flags in argv[1:]; returns [argv[0]] + the arguments it did not use."""
        parser = argparse.ArgumentParser(prog=argv[0] if argv else None, allow_abbrev=False, add_help=False)
        for name, (default, help, kind) in self._defs.items():  # noqa: A001
            if kind is _bool:
                parser.add_argument(f"--{name}", nargs="?", const=True, type=_bool, default=default, help=help)
                parser.add_argument(f"--no{name}", dest=name, action="store_false")
            else:
                parser.add_argument(f"--{name}", type=kind, default=default, help=help)
        try:
            known, rest = parser.parse_known_args(list(argv[1:]))
        except SystemExit as e:
            raise IllegalFlagValueError(f"invalid flag value in {argv[1:]}") from e
        self._values.update(vars(known))
        object.__setattr__(self, "_parsed", True)
        return list(argv[:1]) + rest

    def __getattr__(self, name: str) -> Any:
        if name not in self._defs:
            raise AttributeError(name)
        if not self._parsed:
            self(sys.argv)
        return self._values[name]

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._defs:
            raise AttributeError(f"Unknown flag {name!r}")
        self._values[name] = value

    def __contains__(self, name: str) -> bool:
        return name in self._defs

    def is_parsed(self) -> bool:
        return self._parsed

    def mark_as_parsed(self) -> None:
        object.__setattr__(self, "_parsed", True)

    def flag_values_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def reset(self) -> None:
        """Forgets every flag (tests)."""
        self._defs.clear()
        self._values.clear()
        object.__setattr__(self, "_parsed", False)


class Error(Exception):
    pass


class DuplicateFlagError(Error):
    pass


class IllegalFlagValueError(Error):
    pass


FLAGS = _FlagValues()


def DEFINE_string(name: str, default: str | None, help: str) -> None:  # noqa: A002, N802
    """Defines --name (a string)."""
    FLAGS._define(name, default, help, str)


def DEFINE_integer(name: str, default: int | None, help: str, lower_bound: int | None = None) -> None:  # noqa: A002, N802
    FLAGS._define(name, default, help, int)


def DEFINE_float(name: str, default: float | None, help: str) -> None:  # noqa: A002, N802
    FLAGS._define(name, default, help, float)


def DEFINE_boolean(name: str, default: bool | None, help: str) -> None:  # noqa: A002, N802
    """Defines --name / --noname / --name=false."""
    FLAGS._define(name, default, help, _bool)


def DEFINE_list(name: str, default: list | str | None, help: str) -> None:  # noqa: A002, N802
    """Defines --name=a,b,c (a list of strings)."""
    FLAGS._define(name, _list(default) if isinstance(default, str) else default, help, _list)


DEFINE_bool = DEFINE_boolean
