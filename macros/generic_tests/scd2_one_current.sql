{#- SCD type 2: exactly one current version per key among the keys whose latest
    version is open, and none for a key whose versions are all closed (a key deleted at
    source). `current_column` is a boolean column or expression (for a snapshot:
    "dbt_valid_to is null"). A version is open when its `to_column` is null or the end
    of time (`newest_timestamp`); without `to_column` only "at most one current
    version" can be checked. With `order_column` (the version start), the current
    version must also be the latest one, and "latest version open" reads the latest;
    without it, any open version. Rows with a null key are skipped. -#}
{% test scd2_one_current(
    model, key_column, current_column, order_column=none, to_column=none
) -%}
with

versions as (
    select
        {{ key_column }} as version_key,
        case when {{ current_column }} then 1 else 0 end as is_current_version,
        {%- if to_column is not none %}
        case
            when
                {{ to_column }} is null
                or {{ to_column }} >= {{ medallion.newest_timestamp() }}
                then 1
            else 0
        end as is_open_version,
        {%- else %}
        0 as is_open_version,
        {%- endif %}
        {%- if order_column is not none %}
        row_number() over (
            partition by {{ key_column }}
            order by {{ order_column }} desc
        ) as recency
        {%- else %}
        1 as recency
        {%- endif %}
    from {{ model }}
    where {{ key_column }} is not null
),

per_key as (
    select
        version_key,
        sum(is_current_version) as current_versions,
        sum(
            case when is_current_version = 1 and recency > 1 then 1 else 0 end
        ) as current_versions_not_latest,
        max(
            case when recency = 1 then is_open_version else 0 end
        ) as is_latest_version_open
    from versions
    group by version_key
)

select * from per_key
where
    current_versions > 1
    or current_versions_not_latest > 0
    {%- if to_column is not none %}
    or current_versions <> is_latest_version_open
    {%- endif %}
{%- endtest %}
