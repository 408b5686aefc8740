{#- Gold rule 5 on the customer dimension, read unmasked from
    `restricted.customer_pii` (the country, not personal, from the mart): emails
    lower-cased and trimmed (and only plausible ones kept), names trimmed, phones
    reduced to digits with a leading + kept, countries as ISO 3166 alpha-2 codes of
    the seed. Returns each version holding a
    value that is not standardised. -#}
with

customers as (
    select
        personal.*,
        dimension.country
    from {{ ref("customer_pii") }} as personal
    inner join {{ ref("dim_customer") }} as dimension
        on personal.customer_key = dimension.customer_key
),

country_codes as (
    select distinct country_code from {{ ref("country_codes") }}
),

checked as (
    select
        customers.customer_key,
        customers.customer_id,
        case
            when customers.email <> lower(trim(customers.email))
                then 'email not lower-cased and trimmed'
            when customers.email not like '%_@_%._%'
                then 'email kept though not an address'
            when
                customers.first_name <> trim(customers.first_name)
                or customers.last_name <> trim(customers.last_name)
                then 'name not trimmed'
            when not {{ regexp_matches("customers.phone", "^[+]?[0-9]+$") }}
                then 'phone not reduced to digits'
            when customers.country is not null and country_codes.country_code is null
                then 'country not an ISO code of the seed'
        end as failure
    from customers
    left join country_codes
        on customers.country = country_codes.country_code
)

select * from checked
where failure is not null
