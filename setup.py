"""Package list for setuptools; everything else is in pyproject.toml.

The top-level ``templates/`` and ``config/`` folders (the design card's layout) ship
inside the package as ``worker.templates`` and ``worker.config_files`` and are read
with ``importlib.resources``, so ``pip install .`` (not editable) runs without the
source tree. pyproject.toml cannot both discover packages and map these two folders,
hence this file.
"""

from setuptools import find_packages, setup

# Folders of data (templates and their subfolders, the migrations) are named as packages
# too, so setuptools ships them without warning that they are "absent from the packages
# configuration".
DATA_PACKAGES = [
    "worker.templates", "worker.templates.assets", "worker.templates.console",
    "worker.templates.console.static", "worker.templates.replies", "worker.config_files",
    "worker.db.migrations", "worker.db.migrations.versions",
]

setup(
    packages=sorted({*find_packages(include=["worker", "worker.*"]), *DATA_PACKAGES}),
    package_dir={"worker.templates": "templates", "worker.config_files": "config"},
)
