"""`make lint`: no function over complexity 15 (radon's cyclomatic complexity) or 60 lines, in the given packages.

Run: .venv/bin/python tools/code_limits.py webhooks signals_inbox   (migrations are not read)
Prints every function over a limit and exits 1 if there is one.
"""
from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

MAX_COMPLEXITY = 15
MAX_LINES = 60


def _functions(blocks: list[Function | Class]) -> list[Function]:
    """Every function and method, nested ones included (radon lists a class's methods inside it)."""
    found: list[Function] = []
    for block in blocks:
        if isinstance(block, Class):
            found.extend(_functions(block.methods))
        else:
            found.append(block)
            found.extend(_functions(block.closures))
    return found


def problems(path: Path) -> list[str]:
    found = []
    # radon lists a method both at the top level and inside its class: each is read once.
    unique = {(function.lineno, function.fullname): function for function in _functions(cc_visit(path.read_text()))}
    for function in unique.values():
        lines = function.endline - function.lineno + 1
        name = f"{path}:{function.lineno} {function.fullname}"
        if function.complexity > MAX_COMPLEXITY:
            found.append(f"{name}: complexity {function.complexity} (at most {MAX_COMPLEXITY})")
        if lines > MAX_LINES:
            found.append(f"{name}: {lines} lines (at most {MAX_LINES})")
    return found


def main(packages: list[str]) -> int:
    found = [
        problem
        for package in packages
        for path in sorted(Path(package).rglob("*.py"))
        if "migrations" not in path.parts
        for problem in problems(path)
    ]
    print("\n".join(found) or f"no function over complexity {MAX_COMPLEXITY} or {MAX_LINES} lines in {', '.join(packages)}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
