#!/bin/bash
# Runs once, when the PostgreSQL volume is first initialised (docker-entrypoint-initdb.d):
# one database per store of the stack. Names come from docker/.env (defaults below).
set -euo pipefail
for db in "${DAGSTER_DB:-dagster}" "${MLFLOW_DB:-mlflow}" "${MARKET_DB:-market}" "${OPTUNA_DB:-optuna}"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-postgres}" <<-SQL
	SELECT 'CREATE DATABASE "$db"' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\gexec
SQL
done
