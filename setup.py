"""Package list for setuptools; everything else is in pyproject.toml.

The top-level ``templates/`` and ``config/`` folders (the design card's layout) ship
inside the package as ``worker.templates`` and ``worker.config_files`` and are read
with ``importlib.resources``, so ``pip install .`` (not editable) runs without the
source tree. pyproject.toml cannot both discover packages and map these two folders,
hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["worker", "worker.*"]), "worker.templates", "worker.config_files"],
    package_dir={"worker.templates": "templates", "worker.config_files": "config"},
)
