{#- Survey responses per calendar month of submission and channel, with the average
    satisfaction and the NPS: % promoters (9-10) minus % detractors (0-6). -#}
with

responses as (
    select * from {{ ref("int_survey_responses_judged") }}
    where file_rank = 1
),

monthly as (
    select
        cast(extract(year from submitted_at) as {{ medallion.int_type() }})
            as year_number,
        cast(extract(month from submitted_at) as {{ medallion.int_type() }})
            as month_number,
        coalesce(channel, 'unknown') as channel,
        count(*) as responses,
        cast(avg(satisfaction) as decimal(6, 2)) as avg_satisfaction,
        -- exact to the hundredth, half away from zero, on both warehouses: a float
        -- division lands either side of a half hundredth (1 / 8000 = 0.0125 %)
        cast(
            {{ medallion.money_divide(
                "100 * (sum(case when nps_score >= 9 then 1 else 0 end)"
                ~ " - sum(case when nps_score <= 6 then 1 else 0 end))",
                "count(*)"
            ) }}
            as decimal(6, 2)
        ) as nps
    from responses
    group by 1, 2, 3
)

select * from monthly
