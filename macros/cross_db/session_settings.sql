{#- A pre-hook of every model: the settings the build may set for its own session. On
    MySQL/MariaDB, the in-memory size of the temporary tables a window function, a
    `group by` or a derived table fills (`tmp_table_size`, `max_heap_table_size`: 16 MiB
    by default, past which the table moves to disk). A session value changes nothing
    for the server's other users; what only the DBA can set (the InnoDB buffer pool)
    is checked at run start (medallion/mysql_settings.py, docs/mysql-warehouse.md).
    Nothing on DuckDB. -#}
{% macro session_settings() -%}
    {{ return(adapter.dispatch("session_settings", "medallion")()) }}
{%- endmacro %}

{% macro default__session_settings() -%}
{%- endmacro %}

{% macro mysql__session_settings() -%}
    {%- set size = var("mysql_tmp_table_mib") * 1024 * 1024 -%}
    set session tmp_table_size = {{ size }}, max_heap_table_size = {{ size }}
{%- endmacro %}
