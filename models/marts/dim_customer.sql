with

versions as (
    {{ snapshot_versions(ref("snap_customers"), "customer_id") }}
),

described as (
    select
        row_number() over (order by customer_id, dbt_valid_from) as customer_key,
        customer_id,
        first_name,
        last_name,
        nullif(trim({{ medallion.string_concat([
            "coalesce(first_name, '')", "' '", "coalesce(last_name, '')"
        ]) }}), '') as full_name,
        email,
        phone,
        company_name,
        address_line_1,
        address_line_2,
        city,
        state,
        postal_code,
        country,
        version_number,
        cast(
            (
                case when first_name is not null then 1 else 0 end
                + case when last_name is not null then 1 else 0 end
                + case when email is not null then 1 else 0 end
                + case when phone is not null then 1 else 0 end
                + case when address_line_1 is not null then 1 else 0 end
                + case when city is not null then 1 else 0 end
                + case when postal_code is not null then 1 else 0 end
                + case when country is not null then 1 else 0 end
            ) / 8.0 as decimal(3, 2)
        ) as data_quality_score,
        is_active,
        dbt_valid_to is null as is_current,
        case
            when version_number = 1
                then
                    least(
                        coalesce(first_created_at, {{ oldest_timestamp() }}),
                        dbt_valid_from
                    )
            else dbt_valid_from
        end as valid_from,
        coalesce(dbt_valid_to, {{ newest_timestamp() }}) as valid_to
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
        true as is_current,
        {{ oldest_timestamp() }} as valid_from,
        {{ newest_timestamp() }} as valid_to
),

final as (
    select * from described
    union all
    select * from unknown_member
)

select * from final
