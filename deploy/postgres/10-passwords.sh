#!/bin/sh
# Sets each service role's password from the environment (docker-entrypoint-initdb.d runs this after
# init.sql). The embedded dev stack connects over a trusted Unix socket and does not need passwords.
set -eu
for svc in intake pricing negotiation agreements reporting; do
  var="PARLEY_DB_PASSWORD_$(echo "$svc" | tr '[:lower:]' '[:upper:]')"
  eval "pw=\${$var:-}"
  if [ -z "$pw" ]; then
    echo "missing $var" >&2
    exit 1
  fi
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
       -v role="parley_$svc" -v pw="$pw" <<'SQL'
ALTER ROLE :"role" PASSWORD :'pw';
SQL
done
