"""Build the optional C kernels (``faceorganizer.vision._kernels``) and ship ``resources/``.

The extension is optional: without a C compiler the install still succeeds and faceorganizer
runs the same computations with torch operators (slower on the CPU).

The window's icons live in the top-level ``resources/`` folder of the checkout (found there by
editable installs); a regular build copies that folder into the package as
``faceorganizer/resources``, where ``faceorganizer.ui.icons`` looks for it once installed.
Everything else is in pyproject.toml.
"""

import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py


class BuildPyWithResources(build_py):
    """``build_py`` that also copies ``resources/`` to ``<build_lib>/faceorganizer/resources``."""

    def run(self):
        super().run()
        source = Path(__file__).resolve().parent / "resources"
        if source.is_dir() and not getattr(self, "editable_mode", False):
            shutil.copytree(source, Path(self.build_lib) / "faceorganizer" / "resources", dirs_exist_ok=True)


flags = [] if sys.platform == "win32" else ["-O3", "-std=gnu11", "-Wno-psabi"]
setup(
    cmdclass={"build_py": BuildPyWithResources},
    ext_modules=[
        Extension(
            "faceorganizer.vision._kernels",
            sources=["faceorganizer/vision/_kernels.c"],
            extra_compile_args=flags,
            libraries=[] if sys.platform == "win32" else ["m"],
            optional=True,
        )
    ],
)
