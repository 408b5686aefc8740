{#- SCD type 2: the versions of one key never overlap, and each version has
    `from_column` < `to_column`. A null `to_column` is an open version (the end of
    time), so the test reads snapshots (`dbt_valid_to` null) and dimensions
    (`valid_to` = 9999-12-31) alike. Rows with a null key (an unknown member) are not
    versions of anything and are skipped. Fails on every offending version. -#}
{% test scd2_no_overlap(model, key_column, from_column, to_column) -%}
with

versions as (
    select
        {{ key_column }} as version_key,
        {{ from_column }} as version_from,
        {{ to_column }} as version_to,
        lead({{ from_column }}) over (
            partition by {{ key_column }}
            order by {{ from_column }}
        ) as next_version_from
    from {{ model }}
    where {{ key_column }} is not null
),

offending as (
    select
        version_key,
        version_from,
        version_to,
        next_version_from,
        case
            when version_from is null then 'version without a start'
            when version_to is not null and version_from >= version_to
                then 'version ends before it starts'
            when next_version_from is not null and version_to is null
                then 'open version followed by another version'
            when next_version_from is not null and next_version_from < version_to
                then 'version overlaps the next one'
        end as failure
    from versions
)

select * from offending
where failure is not null
{%- endtest %}
