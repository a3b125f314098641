#!/usr/bin/env bash
# Builds pgvector for the machine's PostgreSQL from Debian's own source package, so semantic recall
# has its `vector` type without any download outside Debian's archive. Bookworm ships no pgvector
# package for PostgreSQL 15, so the source comes from trixie and is compiled against the local
# server headers. The machine's apt configuration is left untouched: a private one is used.
#
#   bash scripts/install-pgvector.sh          # as root; does nothing when vector is installed
set -euo pipefail

pg_major="${PG_MAJOR:-$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)}"
pg_major="${pg_major:-15}"
pg_config="/usr/lib/postgresql/$pg_major/bin/pg_config"

if [ -f "/usr/share/postgresql/$pg_major/extension/vector.control" ]; then
  echo "pgvector is already installed for PostgreSQL $pg_major"
  exit 0
fi

if ! dpkg -s "postgresql-server-dev-$pg_major" >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$pg_major" \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "postgresql-server-dev-$pg_major"; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
echo "deb-src http://deb.debian.org/debian trixie main" > "$work/sources.list"
apt_private=(
  -o "APT::Sandbox::User=root"
  -o "Dir::Etc::SourceList=$work/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/lists"
  -o "Dir::Cache=$work/cache"
)
apt-get "${apt_private[@]}" update -qq
(cd "$work" && apt-get "${apt_private[@]}" source --download-only -qq pgvector)
(cd "$work" && dpkg-source --no-check -x pgvector_*.dsc src >/dev/null)
make -s -C "$work/src" PG_CONFIG="$pg_config" >/dev/null
make -s -C "$work/src" PG_CONFIG="$pg_config" install >/dev/null
echo "pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$work/src/vector.control") installed for PostgreSQL $pg_major"
