{#- A post-hook that indexes `columns` of the model's table on MySQL, where a join or
    an `exists` on columns without an index compares every pair of rows (MariaDB does
    not hash-join by default): the tests that match every transaction against every
    other took seconds each at 6,000 rows, and would take hours at millions. Nothing
    elsewhere (DuckDB hash-joins) nor for a view; an incremental
    table gets the indexes it lacks. Usage:
    `config(post_hook=["{{ medallion.table_index(['transaction_id']) }}"])`. -#}
{% macro table_index(columns) -%}
    {{ return(adapter.dispatch("table_index", "medallion")(columns)) }}
{%- endmacro %}

{% macro default__table_index(columns) -%}
{%- endmacro %}

{% macro mysql__table_index(columns) -%}
    {%- set name = "ix_" ~ columns | join("__") -%}
    {%- if config.get("materialized") == "table" -%}
        create index {{ adapter.quote(name) }} on {{ this }} ({{ columns | join(", ") }})
    {%- elif config.get("materialized") == "incremental" and execute -%}
        {#- an incremental table keeps its indexes between builds: only a new one
            (first build, full refresh) is missing them -#}
        {%- set found = run_query(
            "select count(*) from information_schema.statistics"
            ~ " where table_schema = '" ~ this.schema ~ "'"
            ~ " and table_name = '" ~ this.identifier ~ "'"
            ~ " and index_name = '" ~ name ~ "'"
        ) -%}
        {%- if found.columns[0].values()[0] == 0 -%}
            create index {{ adapter.quote(name) }} on {{ this }} ({{ columns | join(", ") }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
