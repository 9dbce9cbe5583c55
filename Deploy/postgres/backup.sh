#!/usr/bin/env bash
# Nightly base backup (point-in-time recovery with the WAL archive of empmon.conf), kept for 14 days.
# Run by empmon-backup.timer as the postgres user; restore: see Deploy/README.md.
set -euo pipefail
target="${BACKUP_DIR:-/var/backups/empmon}/base-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$target"
pg_basebackup --pgdata="$target" --format=tar --gzip --checkpoint=fast --wal-method=stream --label="empmon nightly" \
    --username="${BACKUP_USER:-empmon_backup}" --host="${PGHOST:-/var/run/postgresql}"
find "$(dirname "$target")" -maxdepth 1 -name 'base-*' -mtime +14 -exec rm -rf {} +
find /var/lib/postgresql/wal-archive -type f -mtime +15 -delete
