{#- The unmasked personal values of every customer version, keyed by the
    `customer_key` of `dim_customer`. The only place outside the raw, staging,
    intermediate and snapshot layers that holds them: the BI account is never granted
    this schema (docs/reliability-security.md). -#}
with

versions as (
    select * from {{ ref("int_customers_versioned") }}
),

personal as (
    select
        customer_key,
        customer_id,
        first_name,
        last_name,
        full_name,
        email,
        phone,
        address_line_1,
        address_line_2,
        city,
        postal_code,
        is_current,
        valid_from,
        valid_to
    from versions
)

select * from personal
