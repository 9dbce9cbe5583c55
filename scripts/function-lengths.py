#!/usr/bin/env python3
"""Lists functions longer than a limit in the Swift files given: from the line of `func`/`init` to the closing
brace at its own indentation. `scripts/lint.sh` runs it over Sources/empmon (issue 32: a thin shell)."""
import re
import sys

limit = int(sys.argv[1])
found = []
for path in sys.argv[2:]:
    lines = open(path, encoding="utf-8").read().split("\n")
    for index, line in enumerate(lines):
        match = re.match(r"^(\s*)(?:[a-z@]+[ ()a-zA-Z]*\s)?(func |init\(|init<|static func |mutating func )", line)
        if not match or line.rstrip().endswith("}") and "{" in line:
            continue
        indent = match.group(1)
        for end in range(index + 1, len(lines)):
            if lines[end] == indent + "}":
                length = end - index + 1
                if length > limit:
                    found.append(f"{path}:{index + 1}: {line.strip()[:70]} … is {length} lines (limit {limit})")
                break
for line in found:
    print(line)
sys.exit(1 if found else 0)
