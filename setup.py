"""Build mapping (metadata lives in pyproject.toml): the repository's top-level cli.py, estimators/ and
data/ are installed inside the package as footprint.cli, footprint.estimators and footprint.data, so the
wheel puts nothing but `footprint` at the top of site-packages."""

import shutil
from pathlib import Path

from setuptools import find_namespace_packages, setup
from setuptools.command.build_py import build_py


class BuildPyWithCli(build_py):
    """Copies the root cli.py to footprint/cli.py in the build (a package_dir cannot rename a module)."""

    def run(self):
        # A build folder left by the old layout would carry top-level cli.py, estimators/ and data/ into the wheel.
        for stale in ("cli.py", "estimators", "data"):
            path = Path(self.build_lib) / stale
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install imports the checkout, where footprint.cli resolves to cli.py
        target = Path(self.build_lib) / "footprint" / "cli.py"
        self.mkpath(str(target.parent))
        self.copy_file("cli.py", str(target))


setup(
    packages=find_namespace_packages(include=["footprint", "footprint.*"])
    + ["footprint.estimators", "footprint.data"],
    package_dir={"footprint.estimators": "estimators", "footprint.data": "data"},
    cmdclass={"build_py": BuildPyWithCli},
)
