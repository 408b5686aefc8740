{#- Staging for a `customers` table of either database: trimmed names, normalised email
    (invalid -> null, flagged), phone digits, a country key for the ISO seed, boolean
    `is_active`. Archive and live share it, so both are standardised identically. -#}
{% macro stage_customers(source_name) -%}
with

source as (
    select * from {{ source(source_name, "customers") }}
),

renamed as (
    select
        cast(customer_id as {{ medallion.bigint_type() }}) as customer_id,
        nullif(trim(first_name), '') as first_name,
        nullif(trim(last_name), '') as last_name,
        {{ medallion.normalise_email("email") }} as email,
        nullif(trim(email), '') as email_as_entered,
        {{ medallion.normalise_phone("phone") }} as phone,
        nullif(trim(company_name), '') as company_name,
        nullif(trim(address_line_1), '') as address_line_1,
        nullif(trim(address_line_2), '') as address_line_2,
        nullif(trim(city), '') as city,
        nullif(trim(state), '') as state,
        nullif(trim(postal_code), '') as postal_code,
        nullif(lower(trim(country)), '') as country_as_entered,
        '{{ source_name }}' as source_system,
        _dlt_load_id as load_id,
        coalesce(is_active, 0) <> 0 as is_active,
        (
            nullif(trim(email), '') is not null
            and {{ medallion.normalise_email("email") }} is null
        ) as has_invalid_email,
        cast(created_at as {{ medallion.timestamp_type() }}) as created_at,
        cast(updated_at as {{ medallion.timestamp_type() }}) as updated_at
    from source
)

select * from renamed
{%- endmacro %}
