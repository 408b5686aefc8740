{#- dbt-spark accepts only `append`, `insert_overwrite` and (on Delta, Iceberg, Hudi)
    `merge`. The project's incremental models use `delete+insert` on a unique key, as
    on DuckDB and MySQL; on Spark it is carried out here. These two macros replace
    dbt-spark's own of the same names (a root project's macro wins over an adapter's),
    so the models need no Spark version. The other strategies are dbt-spark's, as
    there. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy not in ["append", "insert_overwrite", "merge", "delete+insert"] -%}
        {%- do exceptions.raise_compiler_error(
            "Invalid incremental strategy provided: " ~ raw_strategy
            ~ ". Expected one of: 'append', 'insert_overwrite', 'delete+insert', 'merge'"
        ) -%}
    {%- elif raw_strategy == "merge" and file_format not in ["delta", "iceberg", "hudi"] -%}
        {%- do exceptions.raise_compiler_error(
            "The merge strategy needs file_format delta, iceberg or hudi, not "
            ~ file_format ~ " (MEDALLION_SPARK_FILE_FORMAT)"
        ) -%}
    {%- endif -%}
    {%- do return(raw_strategy) -%}
{%- endmacro %}

{#- `delete+insert`: the table is rewritten with its rows whose key is not among the
    new rows', plus the new rows (`spark_rewrite_table`); on Delta its own `merge`
    would do, but one way for every format keeps what is tested here what runs. -#}
{% macro dbt_spark_get_incremental_sql(
    strategy, source, target, existing, unique_key, incremental_predicates
) -%}
    {%- if strategy == "append" -%}
        {%- do return(get_insert_into_sql(source, target)) -%}
    {%- elif strategy == "insert_overwrite" -%}
        {%- do return(get_insert_overwrite_sql(source, target, existing)) -%}
    {%- elif strategy == "merge" -%}
        {%- do return(get_merge_sql(
            target, source, unique_key, dest_columns=none,
            incremental_predicates=incremental_predicates,
        )) -%}
    {%- endif -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set columns = adapter.get_columns_in_relation(target)
        | map(attribute="quoted") | join(", ") -%}
    {%- set kept -%}
        select {{ columns }} from {{ target }} as old_rows
        where not exists (
            select 1 from {{ source }} as new_rows
            where
            {%- for key in keys %}
                {{ medallion.null_safe_equals("new_rows." ~ key, "old_rows." ~ key) }}
                {%- if not loop.last %} and{% endif %}
            {%- endfor %}
        )
        union all
        select {{ columns }} from {{ source }}
    {%- endset -%}
    {%- do return(medallion.spark_rewrite_table(target, kept)) -%}
{%- endmacro %}
