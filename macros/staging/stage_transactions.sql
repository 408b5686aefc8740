{#- Staging for a `transactions` table of either database: one row per order line.
    Standardised before anything matches on them: status and territory to their
    accepted spelling whatever the case and spaces (`canonical_value`; an unknown or
    empty status goes on to quarantine), the product code trimmed and upper-cased
    (`' s11_1001'` is product `S11_1001`, as `stage_products` writes its key). -#}
{% macro stage_transactions(source_name) -%}
with

source as (
    select * from {{ source(source_name, "transactions") }}
),

renamed as (
    select
        cast(transaction_id as {{ medallion.bigint_type() }}) as transaction_id,
        trim(order_number) as order_number,
        cast(customer_id as {{ medallion.bigint_type() }}) as customer_id,
        nullif(upper(trim(product_code)), '') as product_code,
        {{ medallion.canonical_value("status", var("transaction_statuses")) }} as status,
        {{ medallion.canonical_value("territory", var("territories")) }} as territory,
        '{{ source_name }}' as source_system,
        _dlt_load_id as load_id,
        cast(order_line_number as {{ medallion.bigint_type() }}) as order_line_number,
        cast(quantity as {{ medallion.bigint_type() }}) as quantity,
        {{ medallion.money("unit_price") }} as unit_price,
        {{ medallion.money("amount") }} as amount,
        cast(transaction_date as {{ medallion.timestamp_type() }}) as transaction_at,
        cast(updated_at as {{ medallion.timestamp_type() }}) as updated_at
    from source
)

select * from renamed
{%- endmacro %}
