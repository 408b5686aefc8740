{#- Personal values reach the marts masked only: every personal column of
    `dim_customer` is `mask_pii` of the same version's value in
    `restricted.customer_pii`, `customer_segments` and `top_customers` show the current
    version's masked name (and email), and every customer version of the dimension has
    its unmasked row. Returns each row where that fails. -#}
{%- set personal_columns = [
    "first_name", "last_name", "full_name", "email", "phone",
    "address_line_1", "address_line_2", "city", "postal_code",
] -%}
with

dimension as (
    select * from {{ ref("dim_customer") }}
    where customer_key <> -1
),

personal as (
    select * from {{ ref("customer_pii") }}
),

current_personal as (
    select * from personal
    where is_current
),

dimension_failures as (
    select
        dimension.customer_key,
        case
            when personal.customer_key is null then 'no restricted row'
            {%- for column in personal_columns %}
                when
                    not (
                        dimension.{{ column }}
                        = {{ medallion.mask_pii("personal." ~ column) }}
                        or (
                            dimension.{{ column }} is null
                            and personal.{{ column }} is null
                        )
                    )
                    then '{{ column }} not masked'
            {%- endfor %}
        end as failure
    from dimension
    left join personal
        on dimension.customer_key = personal.customer_key
),

segment_failures as (
    select
        segments.customer_id as customer_key,
        'customer_segments.full_name not masked' as failure
    from {{ ref("customer_segments") }} as segments
    inner join current_personal
        on segments.customer_id = current_personal.customer_id
    where
        not (
            segments.full_name = {{ medallion.mask_pii("current_personal.full_name") }}
            or (segments.full_name is null and current_personal.full_name is null)
        )
),

top_failures as (
    select
        top_customers.customer_id as customer_key,
        'top_customers name or email not masked' as failure
    from {{ ref("top_customers") }} as top_customers
    inner join current_personal
        on top_customers.customer_id = current_personal.customer_id
    where
        not (
            top_customers.full_name
            = {{ medallion.mask_pii("current_personal.full_name") }}
            or (top_customers.full_name is null and current_personal.full_name is null)
        )
        or not (
            top_customers.email = {{ medallion.mask_pii("current_personal.email") }}
            or (top_customers.email is null and current_personal.email is null)
        )
),

failures as (
    select * from dimension_failures
    where failure is not null
    union all
    select * from segment_failures
    union all
    select * from top_failures
)

select * from failures
