{#- gold.md, deal_size by abs(amount): Small < 3000 (var `deal_size_small_below`),
    Medium < 7000 (var `deal_size_medium_below`), else Large. Stated as the band each
    label allows: a line whose abs(total_amount) lies outside its label's band (a 3000
    labelled Small, a 6999.99 labelled Large, ...) is returned. -#}
with

transactions as (
    select * from {{ ref("fct_transactions") }}
),

banded as (
    select
        transaction_id,
        total_amount,
        deal_size,
        case deal_size
            when 'Small' then 0
            when 'Medium' then {{ var("deal_size_small_below") }}
            when 'Large' then {{ var("deal_size_medium_below") }}
        end as band_from,
        case deal_size
            when 'Small' then {{ var("deal_size_small_below") }}
            when 'Medium' then {{ var("deal_size_medium_below") }}
        end as band_below
    from transactions
)

select * from banded
where
    band_from is null
    or abs(total_amount) < band_from
    or (band_below is not null and abs(total_amount) >= band_below)
