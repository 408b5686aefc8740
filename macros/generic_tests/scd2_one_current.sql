{#- SCD type 2: exactly one current version per key among the keys whose latest
    version is open, and none for a key whose versions are all closed (a key deleted at
    source). `current_column` is a boolean column or expression (for a snapshot:
    "dbt_valid_to is null"). A version is open when its `to_column` is null or the end
    of time (`newest_timestamp`); without `to_column` only "at most one current
    version" can be checked. With `order_column` (the version start), the current
    version must also be the latest one, and "latest version open" reads the latest;
    without it, any open version. Rows with a null key are skipped.
    With `present_in` (a relation holding the keys the source has now, filtered by
    `present_where` if given), a key absent from it was deleted at source: it must
    have no current version and no open one. Without it, a deleted key whose version
    never closed looks like any current key and passes. -#}
{% test scd2_one_current(
    model,
    key_column,
    current_column,
    order_column=none,
    to_column=none,
    present_in=none,
    present_where=none
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
),
{%- if present_in is not none %}

present_keys as (
    select distinct {{ key_column }} as present_key
    from {{ present_in }}
    where
        {{ key_column }} is not null
        {%- if present_where is not none %}
        and ({{ present_where }})
        {%- endif %}
),

judged as (
    select
        per_key.*,
        case
            when present_keys.present_key is null then 1 else 0
        end as is_gone_at_source
    from per_key
    left join present_keys
        on per_key.version_key = present_keys.present_key
)
{%- else %}

judged as (
    select
        per_key.*,
        0 as is_gone_at_source
    from per_key
)
{%- endif %}

select * from judged
where
    current_versions > 1
    or current_versions_not_latest > 0
    {%- if to_column is not none %}
    or current_versions <> is_latest_version_open
    {%- endif %}
    or (
        is_gone_at_source = 1
        and (current_versions > 0 or is_latest_version_open = 1)
    )
{%- endtest %}
