{#- On MySQL a schema is a database. Ours are created `utf8mb4` with the binary
    collation `utf8mb4_bin` (the connection's too, see profiles.yml), whatever the
    server's default: strings then compare, group and sort by their characters as on
    DuckDB. Under a server default such as `utf8mb4_general_ci`, 'espana' would equal
    'España' and 'P1' equal 'p1', and joins, `distinct` and `unique` tests would
    disagree with DuckDB. Overrides dbt-mysql's macro for this project. -#}
{% macro mysql__create_schema(relation) -%}
    {%- call statement("create_schema") -%}
        create schema if not exists {{ relation.without_identifier() }}
        character set utf8mb4 collate utf8mb4_bin
    {%- endcall -%}
{%- endmacro %}
