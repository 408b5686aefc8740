{#- Staging for a `transactions` table of either database: one row per order line. -#}
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
        nullif(trim(product_code), '') as product_code,
        trim(status) as status,
        nullif(trim(territory), '') as territory,
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
