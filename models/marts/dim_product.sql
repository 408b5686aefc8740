{#- Indexed on MySQL for the fact's as-of join and the tests that follow a line's key
    (docs/mysql-warehouse.md). -#}
{{ config(
    post_hook=[
        '{{ medallion.table_index(["product_key"]) }}',
        '{{ medallion.table_index(["product_code", "valid_from"]) }}',
    ],
) }}
with

versions as (
    {{ snapshot_versions(ref("snap_products"), "product_code") }}
),

version_keys as (
    select * from {{ ref("int_product_keys") }}
),

keyed as (
    select
        versions.*,
        version_keys.product_key
    from versions
    inner join version_keys
        on
            versions.product_code = version_keys.product_code
            and versions.dbt_valid_from = version_keys.dbt_valid_from
),

described as (
    select
        product_key,
        product_code,
        product_name,
        product_line,
        product_family,
        version_number,
        msrp,
        dbt_valid_to is null as is_current,
        case
            when version_number = 1 then {{ oldest_timestamp() }}
            else dbt_valid_from
        end as valid_from,
        coalesce(dbt_valid_to, {{ newest_timestamp() }}) as valid_to
    from keyed
),

unknown_member as (
    select
        -1 as product_key,
        cast(null as {{ medallion.string_type() }}) as product_code,
        'Unknown' as product_name,
        'Unknown' as product_line,
        'Unknown' as product_family,
        1 as version_number,
        cast(null as decimal(18, 2)) as msrp,
        {{ unknown_member_validity() }}
),

final as (
    select * from described
    union all
    select * from unknown_member
)

select * from final
