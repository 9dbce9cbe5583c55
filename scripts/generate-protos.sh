#!/usr/bin/env bash
# Regenerates Sources/Wire/Generated/*.pb.swift from Topology/records.proto. Run it after changing the
# .proto; the output is committed, so ordinary builds never need the (slow to build) plugin.
#
# Needs: protoc (apt-get install protobuf-compiler) and protoc-gen-swift from swift-protobuf 1.39.0, e.g.
#   git clone https://github.com/apple/swift-protobuf ../tools/swift-protobuf && cd ../tools/swift-protobuf \
#     && git checkout 1.39.0 && swift build -c release --product protoc-gen-swift
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-../tools/swift-protobuf/.build/release/protoc-gen-swift}"
mkdir -p Sources/Wire/Generated
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
    --proto_path=Topology --swift_out=Sources/Wire/Generated Topology/records.proto
echo "generated Sources/Wire/Generated/records.pb.swift"
