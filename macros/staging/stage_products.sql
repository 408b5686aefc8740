{#- Staging for a `products` table of either database; the code trimmed and upper-cased,
    as `stage_transactions` writes the lines' codes, so the two match. -#}
{% macro stage_products(source_name) -%}
with

source as (
    select * from {{ source(source_name, "products") }}
),

renamed as (
    select
        upper(trim(product_code)) as product_code,
        nullif(trim(product_name), '') as product_name,
        nullif(trim(product_line), '') as product_line,
        nullif(trim(product_family), '') as product_family,
        '{{ source_name }}' as source_system,
        _dlt_load_id as load_id,
        {{ medallion.money("msrp") }} as msrp,
        cast(updated_at as {{ medallion.timestamp_type() }}) as updated_at
    from source
)

select * from renamed
{%- endmacro %}
