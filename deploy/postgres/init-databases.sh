#!/bin/sh
# Run by the postgres image from /docker-entrypoint-initdb.d, once, when the data directory is
# first initialised. Creates the services' login role and one database per service, owned by
# that role; each service's `migrate` step then creates its own tables.
set -e

CROSSLEAD_DB_USER="${CROSSLEAD_DB_USER:-crosslead}"
if [ -z "${CROSSLEAD_DB_PASSWORD:-}" ]; then
    echo "init-databases.sh: CROSSLEAD_DB_PASSWORD is not set" >&2
    exit 1
fi

# psql quotes the values itself (:"ident", :'literal'), so any name or password is safe.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set=db_user="$CROSSLEAD_DB_USER" --set=db_password="$CROSSLEAD_DB_PASSWORD" <<'SQL'
CREATE ROLE :"db_user" LOGIN PASSWORD :'db_password';
CREATE DATABASE intake OWNER :"db_user";
CREATE DATABASE router OWNER :"db_user";
CREATE DATABASE payouts OWNER :"db_user";
SQL
