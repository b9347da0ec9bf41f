"""Build the optional C kernels (``faceorganizer.vision._kernels``); everything else is in pyproject.toml.

The extension is optional: without a C compiler the install still succeeds and faceorganizer
runs the same computations with torch operators (slower on the CPU).
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-std=gnu11", "-Wno-psabi"]
setup(
    ext_modules=[
        Extension(
            "faceorganizer.vision._kernels",
            sources=["faceorganizer/vision/_kernels.c"],
            extra_compile_args=flags,
            optional=True,
        )
    ]
)
