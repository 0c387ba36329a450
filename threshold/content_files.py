"""Reading a content file (clinic.yml, content/*.yml): one place that turns a missing file or
broken YAML into the loader's own error, naming the file."""

from pathlib import Path
from typing import Any, Text, Type

import yaml


def read_content_file(path: Path | Text, error: Type[Exception], missing: Text) -> Any:
    """The file's YAML; `error` with "<path>: <missing>" when there is no such file, and with
    "<path>: not valid YAML: ..." when it does not parse."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except yaml.YAMLError as problem:
        raise error(f"{path}: not valid YAML: {problem}") from None
