{#- Snapshots on Spark in any file format. dbt-spark's own snapshot needs `merge`
    (Delta, Iceberg, Hudi) and refuses Parquet; this one replaces it for the project
    (a root project's materialization wins over the adapter's). It follows dbt-spark's
    steps: the first run creates the table from the query; later runs stage the
    changes with dbt's `snapshot_staging_table` (new versions, versions closed by an
    update, and with `invalidate_hard_deletes` by a hard delete). Then, on Delta (and
    Iceberg, Hudi: `MEDALLION_SPARK_FILE_FORMAT`) dbt-spark's own `merge`; on Parquet
    the table is rewritten (`spark_rewrite_table`): every old version, its
    `dbt_valid_to` set where the staging closed it, plus the new versions. -#}
{% materialization snapshot, adapter="spark" %}
    {%- set config = model["config"] -%}
    {%- set target_table = model.get("alias", model.get("name")) -%}
    {%- set strategy_name = config.get("strategy") -%}
    {%- set file_format = config.get("file_format", "parquet") -%}
    {%- set can_merge = file_format in ["delta", "iceberg", "hudi"] -%}
    {%- set grant_config = config.get("grants") -%}

    {%- set target_relation_exists, target_relation = get_or_create_relation(
        database=none, schema=model.schema, identifier=target_table, type="table"
    ) -%}
    {%- if not adapter.check_schema_exists(model.database, model.schema) -%}
        {%- do create_schema(model.schema) -%}
    {%- endif -%}
    {%- if not target_relation.is_table -%}
        {%- do exceptions.relation_wrong_type(target_relation, "table") -%}
    {%- endif -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set strategy_macro = strategy_dispatch(strategy_name) -%}
    {%- set strategy = strategy_macro(
        model, "snapshotted_data", "source_data", config, target_relation_exists
    ) -%}

    {%- if not target_relation_exists -%}
        {%- set build_sql = build_snapshot_table(strategy, model["compiled_code"]) -%}
        {%- set final_sql = create_table_as(False, target_relation, build_sql) -%}
    {%- else -%}
        {{ adapter.valid_snapshot_target(target_relation) }}
        {%- set staging_table = spark_build_snapshot_staging_table(
            strategy, sql, target_relation
        ) -%}
        {%- set internal = ["dbt_change_type", "dbt_unique_key"] -%}
        {%- set missing_columns = adapter.get_missing_columns(
            staging_table, target_relation
        ) | rejectattr("name", "in", internal) | list -%}
        {%- do create_columns(target_relation, missing_columns) -%}
        {%- if can_merge -%}
            {%- set source_columns = adapter.get_columns_in_relation(staging_table)
                | rejectattr("name", "in", internal) | list -%}
            {%- set final_sql = snapshot_merge_sql(
                target=target_relation,
                source=staging_table,
                insert_cols=source_columns | map(attribute="quoted") | list,
            ) -%}
        {%- else -%}
            {%- set final_sql = medallion.spark_rewrite_table(
                target_relation,
                medallion.spark_snapshot_rewrite_sql(target_relation, staging_table),
            ) -%}
        {%- endif -%}
    {%- endif -%}

    {%- call statement("main") -%}
        {{ final_sql }}
    {%- endcall -%}

    {%- set should_revoke = should_revoke(target_relation_exists, full_refresh_mode) -%}
    {%- do apply_grants(target_relation, grant_config, should_revoke) -%}
    {%- do persist_docs(target_relation, model) -%}
    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}
    {%- if staging_table is defined -%}
        {%- do post_snapshot(staging_table) -%}
    {%- endif -%}
    {{ run_hooks(post_hooks, inside_transaction=False) }}
    {{ return({"relations": [target_relation]}) }}
{% endmaterialization %}

{#- The snapshot's rows after this run, in its columns' order: each old version, with
    the `dbt_valid_to` the staged changes give it when it is still open (an update or
    a hard delete closes it), then the staged new versions. -#}
{% macro spark_snapshot_rewrite_sql(target_relation, staging_table) -%}
    {%- set columns = adapter.get_columns_in_relation(target_relation) -%}
    {%- set staged = adapter.get_columns_in_relation(staging_table)
        | map(attribute="name") | map("lower") | list -%}
    select
    {%- for column in columns %}
        {%- if column.name | lower == "dbt_valid_to" %}
        case
            when old_rows.dbt_valid_to is null and closed.dbt_scd_id is not null
                then closed.dbt_valid_to
            else old_rows.dbt_valid_to
        end as {{ column.quoted }}
        {%- else %}
        old_rows.{{ column.quoted }}
        {%- endif %}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ target_relation }} as old_rows
    left join (
        select dbt_scd_id, dbt_valid_to from {{ staging_table }}
        where dbt_change_type in ('update', 'delete')
    ) as closed
        on old_rows.dbt_scd_id = closed.dbt_scd_id
    union all
    select
    {%- for column in columns %}
        {%- if column.name | lower in staged %}
        new_rows.{{ column.quoted }}
        {%- else %}
        cast(null as {{ column.data_type }}) as {{ column.quoted }}
        {%- endif %}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ staging_table }} as new_rows
    where new_rows.dbt_change_type = 'insert'
{%- endmacro %}
