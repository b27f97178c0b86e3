"""The one YAML loader for every file yunwei reads (jobs.yml, schedule.yml, ``-e @file``,
inventory pre-checks): strict, and every problem is an :class:`InputError` naming the file,
the key (or line) and what is wrong — never a traceback.

Stricter than ``yaml.safe_load`` in two ways:
- a duplicate key is refused (PyYAML silently keeps the last one; a reviewer reading the first
  would approve something else than what runs);
- dates stay strings (``2027-02-30`` is not a PyYAML crash; the consumer parses the date and
  names the key), so what yunwei reads is plain JSON-compatible data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from yunwei.errors import InputError


class StrictLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps (dates stay strings)."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _line(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "line ?"


def _check_duplicates(node: yaml.Node, source: str, path: str = "") -> None:
    """Refuse a mapping that holds the same key twice, naming the key's dotted path."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{path}.{key}" if path else str(key)
            if key is not None:
                if key in seen and key_node.tag != "tag:yaml.org,2002:merge":
                    raise InputError(source, where, f"duplicate key ({_line(key_node.start_mark)}; first at "
                                                    f"{_line(seen[key].start_mark)}): YAML would silently keep the last one")
                seen[key] = key_node
            _check_duplicates(value_node, source, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_duplicates(item, source, f"{path}[{i}]")


def load_yaml_text(text: str, source: str) -> Any:
    """Parse ``text`` (from ``source``, for messages) strictly; None for an empty document."""
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_duplicates(node, source)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError(source, _line(mark), f"not valid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(source, None, f"not valid YAML: {exc}") from None
    except (ValueError, TypeError, OverflowError) as exc:  # a constructor refused a value
        raise InputError(source, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def read_text(path: Path, what: str = "file") -> str:
    """The UTF-8 text of ``path``; a missing file, a directory, an unreadable file or bytes that are
    not UTF-8 are an InputError naming the file."""
    source = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(source, None, f"{what} not found") from None
    except IsADirectoryError:
        raise InputError(source, None, f"is a directory, expected a {what}") from None
    except PermissionError:
        raise InputError(source, None, f"cannot read the {what}: permission denied") from None
    except OSError as exc:
        raise InputError(source, None, f"cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(source, f"line {line}",
                         f"not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}") from None


def load_yaml(path: Path | str, what: str = "file") -> Any:
    """Read and strictly parse the YAML file ``path``."""
    path = Path(path)
    return load_yaml_text(read_text(path, what), str(path))
