{#- dbt-mysql 1.7.0 closes a snapshot's open version only for the staging rows whose
    `dbt_change_type` is 'update', so with `invalidate_hard_deletes` a row deleted at
    source kept its version open on MySQL (dbt's default merge, used on DuckDB, closes
    it for 'update' and 'delete'). Overrides the adapter's macro for this project, with
    'delete' included: the same SCD2 history on both warehouses. -#}
{% macro mysql__snapshot_merge_sql_update(target, source, insert_cols) -%}
    update {{ target }}, (
        select
            dbt_scd_id,
            dbt_change_type,
            dbt_valid_to
        from {{ source }}
    ) as dbt_internal_source
    set {{ target }}.dbt_valid_to = dbt_internal_source.dbt_valid_to
    where
        dbt_internal_source.dbt_scd_id = {{ target }}.dbt_scd_id
        and dbt_internal_source.dbt_change_type in ('update', 'delete')
        and {{ target }}.dbt_valid_to is null
{%- endmacro %}
