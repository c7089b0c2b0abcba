"""The one thing pyproject.toml cannot say: the shipped checkpoint, kept in the top-level
``artifacts/`` folder, installs as the data-only package ``chexmini_artifacts`` (one copy in
the repository; found by :mod:`core.runs.release.shipped`)."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["core*", "chexmini_cli*", "chexmini_tui*"]),
              "chexmini_artifacts"],
    package_dir={"chexmini_artifacts": "artifacts"},
)
