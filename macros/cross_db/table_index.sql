{#- A post-hook that indexes `columns` of the model's table on MySQL, where a join or
    an `exists` on columns without an index compares every pair of rows (MariaDB does
    not hash-join by default): the tests that match every transaction against every
    other took seconds each at 6,000 rows, and would take hours at millions. Nothing
    elsewhere (DuckDB hash-joins) nor for a view. Usage:
    `config(post_hook=["{{ medallion.table_index(['transaction_id']) }}"])`. -#}
{% macro table_index(columns) -%}
    {{ return(adapter.dispatch("table_index", "medallion")(columns)) }}
{%- endmacro %}

{% macro default__table_index(columns) -%}
{%- endmacro %}

{% macro mysql__table_index(columns) -%}
    {%- if config.get("materialized") == "table" -%}
        create index {{ adapter.quote("ix_" ~ columns | join("__")) }}
        on {{ this }} ({{ columns | join(", ") }})
    {%- endif -%}
{%- endmacro %}
