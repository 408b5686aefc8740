{#- MariaDB's hash joins, as `variable = value` pairs for a `set session` or a
    `set statement ... for`: `join_cache_level = 4` lets the optimizer join through an
    in-memory hash table (BNLH) where no index serves the join; the join buffer is
    where that table is built (`optimize_join_buffer_size`, on by default, allocates
    only what a join needs, up to these limits). At 50,000 lines, a mart joining the
    fact to `dim_date` took 6.4 s with MariaDB's default (`2`, block nested loops)
    and 0.14 s with these (docs/mysql-warehouse.md). -#}
{% macro mariadb_join_settings() -%}
    {%- set buffer = var("mysql_join_buffer_mib", 64) * 1024 * 1024 -%}
    join_cache_level = 4,
    join_buffer_size = {{ buffer }},
    join_buffer_space_limit = {{ 4 * buffer }}
{%- endmacro %}
