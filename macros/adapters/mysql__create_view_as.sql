{#- dbt-mysql 1.7 creates views with dbt's default `create view ... as ( <sql> )`, and
    MariaDB refuses a parenthesised query that starts with `with` (every model here
    does). Overrides the adapter's macro for this project: the same statement without
    the parentheses. -#}
{% macro mysql__create_view_as(relation, sql) -%}
    {%- set sql_header = config.get("sql_header", none) -%}
    {{ sql_header if sql_header is not none }}
    create view {{ relation }}
    {%- set contract_config = config.get("contract") %}
    {%- if contract_config.enforced %}
        {{ get_assert_columns_equivalent(sql) }}
    {%- endif %}
    as
    {{ sql }}
{%- endmacro %}
