"""Compile the message catalogues when the package is built or installed (editable installs too):
the running app reads only `.mo` files, never compiles at request time (loyalty/i18n/tool.py)."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class build_py_with_catalogues(build_py):
    def run(self) -> None:
        # tool.py is loaded by path: the package's own imports need its dependencies, which
        # the build environment does not have (it has Babel, from pyproject's build requires).
        path = Path(__file__).parent / "loyalty" / "i18n" / "tool.py"
        spec = importlib.util.spec_from_file_location("catalogue_tool", path)
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        tool.compile_all()
        super().run()


setup(cmdclass={"build_py": build_py_with_catalogues})
