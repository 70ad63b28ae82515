"""Every public function of the runtime (every package but podtwin.lab and podtwin.cli) says
the type of each of its parameters and of what it returns. Public: defined at module level
in that module, its name not starting with "_"; decorated ones (lru_cache) are read through
their wrapper."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator

import podtwin

NOT_RUNTIME = ("podtwin.lab", "podtwin.cli")


def public_functions() -> Iterator[tuple[str, Callable[..., object]]]:
    """(qualified name, function) of every public module-level function of the runtime."""
    for info in pkgutil.walk_packages(podtwin.__path__, "podtwin."):
        if info.name.startswith(NOT_RUNTIME):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not callable(obj):
                continue
            function = inspect.unwrap(obj)
            if inspect.isfunction(function) and function.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", function


def missing_annotations(function: Callable[..., object]) -> list[str]:
    signature = inspect.signature(function)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.annotation is inspect.Parameter.empty and name not in ("self", "cls")
    ]
    if signature.return_annotation is inspect.Signature.empty:
        missing.append("return")
    return missing


def test_every_public_function_of_the_runtime_is_typed():
    checked = {}
    offenders = []
    for name, function in public_functions():
        checked[name] = function
        missing = missing_annotations(function)
        if missing:
            offenders.append(f"{name}: {', '.join(missing)}")
    # the walk must reach the functions the issue names (it cannot silently skip them)
    assert {"podtwin.twin.answer.ask", "podtwin.search.query.search"} <= set(checked)
    assert len(checked) > 100
    assert not offenders, "public functions without a type annotation on:\n" + "\n".join(offenders)


def test_the_check_sees_a_missing_annotation():
    def untyped(library, *, limit: int = 10):
        return library

    def typed(library: object, *, limit: int = 10) -> object:
        return library

    assert missing_annotations(untyped) == ["library", "return"]
    assert missing_annotations(typed) == []
