"""Import the project's scripts/ as modules in tests."""

import importlib.util

from conftest import PROJECT_ROOT


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, PROJECT_ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
