{#- Delete the rows of `relation` that match `condition` (a post-hook). Plain `delete`
    where the warehouse can; on Spark over Parquet, which has no `delete`, the table is
    rewritten without them (`spark_rewrite_table`); Delta's own `delete` when the
    table is Delta. -#}
{% macro delete_where(relation, condition) -%}
    {{ return(adapter.dispatch("delete_where", "medallion")(relation, condition)) }}
{%- endmacro %}

{% macro default__delete_where(relation, condition) -%}
    delete from {{ relation }} where {{ condition }}
{%- endmacro %}

{% macro spark__delete_where(relation, condition) -%}
    {%- if not execute -%}
        select 'parsed' as outcome
    {%- elif config.get("file_format", "parquet") == "delta" -%}
        delete from {{ relation }} where {{ condition }}
    {%- else -%}
        {%- set found = run_query(
            "select count(*) from " ~ relation ~ " where " ~ condition
        ) -%}
        {%- if found.columns[0].values()[0] == 0 -%}
            select 'no row to delete' as outcome
        {%- else -%}
            {{ medallion.spark_rewrite_table(
                relation,
                "select * from " ~ relation ~ " where not coalesce(" ~ condition
                ~ ", false)"
            ) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
