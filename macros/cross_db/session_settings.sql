{#- A pre-hook of every model: the settings the build sets for its own session (a
    session value changes nothing for the server's other users). On MySQL/MariaDB:

    - the in-memory size of the temporary tables a window function, a `group by` or a
      derived table fills (`tmp_table_size`, `max_heap_table_size`; 16 MiB by default,
      past which the table moves to disk);
    - on MariaDB, hash joins (`mariadb_join_settings`): without them MariaDB joins
      two tables without a usable index by comparing every pair of rows (a block
      nested loop); MySQL 8 hash-joins by itself.

    dbt tests run no pre-hook: they get the MariaDB settings through
    `mysql__get_test_sql`. What only the DBA can set (the InnoDB buffer pool) is
    checked at run start (medallion/mysql_settings.py, docs/mysql-warehouse.md).
    Nothing on DuckDB. -#}
{% macro session_settings() -%}
    {{ return(adapter.dispatch("session_settings", "medallion")()) }}
{%- endmacro %}

{% macro default__session_settings() -%}
{%- endmacro %}

{% macro mysql__session_settings() -%}
    {%- set size = var("mysql_tmp_table_mib", 256) * 1024 * 1024 -%}
    set session tmp_table_size = {{ size }}, max_heap_table_size = {{ size }}
    {%- if medallion.is_mariadb() %}, {{ medallion.mariadb_join_settings() }}{% endif %}
{%- endmacro %}
