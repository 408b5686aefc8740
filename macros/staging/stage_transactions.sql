{#- Staging for a `transactions` table of either database: one row per order line. -#}
{% macro stage_transactions(source_name) -%}
with

source as (
    select * from {{ source(source_name, "transactions") }}
),

renamed as (
    select
        cast(transaction_id as {{ dbt.type_bigint() }}) as transaction_id,
        trim(order_number) as order_number,
        cast(customer_id as {{ dbt.type_bigint() }}) as customer_id,
        nullif(trim(product_code), '') as product_code,
        trim(status) as status,
        nullif(trim(territory), '') as territory,
        '{{ source_name }}' as source_system,
        _dlt_load_id as load_id,
        cast(order_line_number as {{ dbt.type_bigint() }}) as order_line_number,
        cast(quantity as {{ dbt.type_bigint() }}) as quantity,
        {{ medallion.money("unit_price") }} as unit_price,
        {{ medallion.money("amount") }} as amount,
        cast(transaction_date as {{ dbt.type_timestamp() }}) as transaction_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at
    from source
)

select * from renamed
{%- endmacro %}
