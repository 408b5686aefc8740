{#- The rows of a dbt snapshot with `version_number` (1 for each key's first version,
    by `dbt_valid_from`), for building an SCD2 dimension. -#}
{% macro snapshot_versions(snapshot_relation, key_column) -%}
    select
        snapshot.*,
        row_number() over (
            partition by {{ key_column }} order by dbt_valid_from
        ) as version_number
    from {{ snapshot_relation }} as snapshot
{%- endmacro %}
