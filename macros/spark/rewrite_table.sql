{#- Rewrite `relation`, a Parquet table on Spark (which cannot update or delete rows),
    with the rows of `select_sql`, which may read the table itself. The rows go to a
    scratch table first, because Spark refuses to overwrite a table in the statement
    that reads it; `insert overwrite` then replaces the table's files, and the scratch
    table is dropped. Runs its statements itself; returns a one-row `select` saying
    so, for a caller that needs a main statement. -#}
{% macro spark_rewrite_table(relation, select_sql) -%}
    {%- set scratch = relation.incorporate(
        path={"identifier": relation.identifier ~ "__rewrite"}
    ) -%}
    {%- do run_query("drop table if exists " ~ scratch) -%}
    {%- do run_query("create table " ~ scratch ~ " using parquet as " ~ select_sql) -%}
    {%- set columns = adapter.get_columns_in_relation(relation)
        | map(attribute="quoted") | join(", ") -%}
    {%- do run_query(
        "insert overwrite table " ~ relation ~ " select " ~ columns ~ " from " ~ scratch
    ) -%}
    {%- do run_query("drop table if exists " ~ scratch) -%}
    {%- do return("select 'rewritten' as outcome") -%}
{%- endmacro %}
