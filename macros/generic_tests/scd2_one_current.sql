{#- SCD type 2: exactly one current version per key among the keys whose latest
    version is open, and none for a key whose versions are all closed (a key deleted at
    source). `current_column` is a boolean column or expression (for a snapshot:
    "dbt_valid_to is null"). With `order_column` (the version start), the current
    version must also be the latest one. Rows with a null key are skipped. -#}
{% test scd2_one_current(model, key_column, current_column, order_column=none) -%}
with

versions as (
    select
        {{ key_column }} as version_key,
        case when {{ current_column }} then 1 else 0 end as is_current_version
        {%- if order_column is not none %},
        row_number() over (
            partition by {{ key_column }}
            order by {{ order_column }} desc
        ) as recency
        {%- endif %}
    from {{ model }}
    where {{ key_column }} is not null
),

per_key as (
    select
        version_key,
        sum(is_current_version) as current_versions
        {%- if order_column is not none %},
        sum(
            case when is_current_version = 1 and recency > 1 then 1 else 0 end
        ) as current_versions_not_latest
        {%- endif %}
    from versions
    group by version_key
)

select * from per_key
where
    current_versions > 1
    {%- if order_column is not none %}
    or current_versions_not_latest > 0
    {%- endif %}
{%- endtest %}
