{#- The customer dimension: every version, personal values masked (`mask_pii`; the
    unmasked values are in `restricted.customer_pii`), plus the unknown member.
    Indexed on MySQL for the fact's as-of join and the tests that follow a line's key
    (docs/mysql-warehouse.md). -#}
{{ config(
    post_hook=[
        '{{ medallion.table_index(["customer_key"]) }}',
        '{{ medallion.table_index(["customer_id", "valid_from"]) }}',
    ],
) }}
with

versions as (
    select * from {{ ref("int_customers_versioned") }}
),

masked as (
    select
        customer_key,
        customer_id,
        {{ medallion.mask_pii("first_name") }} as first_name,
        {{ medallion.mask_pii("last_name") }} as last_name,
        {{ medallion.mask_pii("full_name") }} as full_name,
        {{ medallion.mask_pii("email") }} as email,
        {{ medallion.mask_pii("phone") }} as phone,
        company_name,
        {{ medallion.mask_pii("address_line_1") }} as address_line_1,
        {{ medallion.mask_pii("address_line_2") }} as address_line_2,
        {{ medallion.mask_pii("city") }} as city,
        state,
        {{ medallion.mask_pii("postal_code") }} as postal_code,
        country,
        version_number,
        data_quality_score,
        is_active,
        is_current,
        valid_from,
        valid_to
    from versions
),

unknown_member as (
    select
        -1 as customer_key,
        cast(null as {{ medallion.bigint_type() }}) as customer_id,
        'Unknown' as first_name,
        'Unknown' as last_name,
        'Unknown' as full_name,
        cast(null as {{ medallion.string_type() }}) as email,
        cast(null as {{ medallion.string_type() }}) as phone,
        cast(null as {{ medallion.string_type() }}) as company_name,
        cast(null as {{ medallion.string_type() }}) as address_line_1,
        cast(null as {{ medallion.string_type() }}) as address_line_2,
        cast(null as {{ medallion.string_type() }}) as city,
        cast(null as {{ medallion.string_type() }}) as state,
        cast(null as {{ medallion.string_type() }}) as postal_code,
        cast(null as {{ medallion.string_type() }}) as country,
        1 as version_number,
        cast(0 as decimal(3, 2)) as data_quality_score,
        false as is_active,
        {{ unknown_member_validity() }}
),

final as (
    select * from masked
    union all
    select * from unknown_member
)

select * from final
