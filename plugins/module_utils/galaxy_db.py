# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small connection to Galaxy's PostgreSQL database for the modules that read its tables.

No Ansible import. psycopg (3) is preferred, psycopg2 is the fallback (Galaxy's virtualenv has one
of them); ``DRIVER`` says which, None when neither imports (the module reports it).
"""

from __future__ import annotations

from typing import Any, Callable

from ansible_collections.galaxyops.fleet.plugins.module_utils import handler_jobs as hj
from ansible_collections.galaxyops.fleet.plugins.module_utils.argspec import spec_from_doc

try:
    import yaml
except ImportError:  # pragma: no cover - reported by the module
    yaml = None

psycopg2 = None  # the fallback driver, imported only without psycopg 3
try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError:  # pragma: no cover - psycopg2 below, or reported by the module
    psycopg = None
    try:
        import psycopg2
        import psycopg2.extras
    except ImportError:
        pass

DRIVER = "psycopg" if psycopg is not None else ("psycopg2" if psycopg2 is not None else None)


class Database:
    """An autocommit connection returning rows as dicts (psycopg 3, else psycopg2)."""

    def __init__(self, url: str, connect_timeout: int = 10):
        if psycopg is not None:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout, row_factory=dict_row)
        else:
            self.conn = psycopg2.connect(url, connect_timeout=connect_timeout)
            self.conn.autocommit = True

    def rows(self, sql: str, params: dict | None = None) -> list[dict]:
        if psycopg is not None:
            return list(self.conn.execute(sql, params or {}).fetchall())
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params or {})
            return [dict(r) for r in cur.fetchall()] if cur.description else []

    def has_table(self, table: str) -> bool:
        return bool(self.rows("SELECT to_regclass(%(t)s) IS NOT NULL AS x", {"t": table})[0]["x"])

    def has_column(self, table: str, column: str) -> bool:
        return bool(self.rows(
            "SELECT 1 AS x FROM information_schema.columns WHERE table_name = %(t)s AND column_name = %(c)s "
            "AND table_schema = ANY(current_schemas(false))", {"t": table, "c": column}))

    def close(self) -> None:
        self.conn.close()


def is_driver_error(exc: BaseException) -> bool:
    """Whether an exception comes from the database driver (reported as a message, not a traceback)."""
    return type(exc).__module__.split(".", maxsplit=1)[0] in ("psycopg", "psycopg2")


def argument_spec(documentation: str) -> dict[str, Any]:
    """The argument spec of a database module from its DOCUMENTATION (the connection URL kept out of logs)."""
    spec = spec_from_doc(yaml.safe_load(documentation)["options"])
    spec["database_connection"]["no_log"] = True
    return spec


def call(run: Callable[[Any], dict], module: Any) -> tuple[dict | None, str | None]:
    """``run(module)``, with the errors a user can act on (bad input, database errors) as a message."""
    try:
        return run(module), None
    except hj.HandlerJobsError as exc:
        return None, str(exc)
    except Exception as exc:  # database errors: report them, not a traceback
        if is_driver_error(exc):
            return None, f"database error: {exc}"
        raise


def connection_url(galaxy_config_file: str | None, database_connection: str | None) -> str:
    """The libpq URL: ``database_connection`` when given, else ``galaxy.database_connection`` of galaxy.yml."""
    url: Any = database_connection
    if not url:
        if not galaxy_config_file:
            raise hj.HandlerJobsError("set galaxy_config_file or database_connection")
        try:
            with open(galaxy_config_file, encoding="utf-8") as handle:
                config = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError) as exc:
            raise hj.HandlerJobsError(f"cannot read {galaxy_config_file}: {exc}") from exc
        url = hj.database_connection(config, galaxy_config_file)
    return hj.conninfo(url)
