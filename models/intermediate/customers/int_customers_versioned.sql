{#- Every version of every customer (from the snapshot), with its surrogate key and
    its personal values unmasked: what `dim_customer` masks and `restricted.customer_pii`
    shows. One model reads the key (`int_customer_keys`), so the two always agree on it.
    The first version is valid from the beginning of time, as a product's is: a line
    dated before its customer's `created_at` (a record migrated or re-keyed after its
    first orders, a `created_at` that is null or a zero date) still finds a version. -#}
with

versions as (
    {{ snapshot_versions(ref("snap_customers"), "customer_id") }}
),

version_keys as (
    select * from {{ ref("int_customer_keys") }}
),

keyed as (
    select
        versions.*,
        version_keys.customer_key
    from versions
    inner join version_keys
        on
            versions.customer_id = version_keys.customer_id
            and versions.dbt_valid_from = version_keys.dbt_valid_from
),

described as (
    select
        customer_key,
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
            when version_number = 1 then {{ oldest_timestamp() }}
            else dbt_valid_from
        end as valid_from,
        coalesce(dbt_valid_to, {{ newest_timestamp() }}) as valid_to
    from keyed
)

select * from described
