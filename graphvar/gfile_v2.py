"""``tf.io.gfile``: TF2's lower-case names for the file API of ``tf.gfile`` (graphvar/gfile.py)."""

from __future__ import annotations

from graphvar.gfile import Copy as copy
from graphvar.gfile import DeleteRecursively as rmtree
from graphvar.gfile import Exists as exists
from graphvar.gfile import GFile
from graphvar.gfile import Glob as glob
from graphvar.gfile import IsDirectory as isdir
from graphvar.gfile import ListDirectory as listdir
from graphvar.gfile import MakeDirs as makedirs
from graphvar.gfile import MkDir as mkdir
from graphvar.gfile import Remove as remove
from graphvar.gfile import Rename as rename
from graphvar.gfile import Stat as stat
from graphvar.gfile import Walk as walk

__all__ = ["GFile", "copy", "exists", "glob", "isdir", "listdir", "makedirs", "mkdir", "remove", "rename", "rmtree",
           "stat", "walk"]  # fmt: skip
