#!/usr/bin/env bash
# The repository's own formatting rules (.swift-format), as swift-format that ships with the toolchain reads them:
# every finding fails. `swift-format format -i -r Sources Tests Package.swift` mends most of them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
swift-format lint --strict --recursive Sources Tests Package.swift
echo "swift-format lint --strict: no findings"
# The command-line tool stays a thin shell over the libraries.
python3 scripts/function-lengths.py 80 Sources/empmon/*.swift
echo "Sources/empmon: no function over 80 lines"
