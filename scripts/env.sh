# Sourced by the other scripts: puts Swift on PATH and keeps crash reports from hanging CI.
export PATH="/opt/swift/usr/bin:$PATH"
# The Swift backtracer can take many minutes on a crashed multi-threaded test process; a plain crash is enough.
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
