{#- gold.md, survey_monthly: per calendar month of submission and channel, responses
    counts the silver responses (file_rank = 1: newest file wins, rejected rows out),
    and nps = percent of promoters (9-10) minus percent of detractors (0-6), within
    -100..100. Recomputed from the scores (to the cent the mart stores); returns each
    disagreeing month and channel. -#}
with

responses as (
    select * from {{ ref("int_survey_responses_judged") }}
    where file_rank = 1
),

survey_monthly as (
    select * from {{ ref("survey_monthly") }}
),

per_month as (
    select
        extract(year from submitted_at) as year_number,
        extract(month from submitted_at) as month_number,
        coalesce(channel, 'unknown') as channel,
        count(*) as responses,
        sum(case when nps_score >= 9 then 1 else 0 end) as promoters,
        sum(case when nps_score <= 6 then 1 else 0 end) as detractors
    from responses
    group by 1, 2, 3
)

select
    survey_monthly.year_number,
    survey_monthly.month_number,
    survey_monthly.channel,
    per_month.responses as expected_responses,
    survey_monthly.responses,
    100.0 * (per_month.promoters - per_month.detractors) / per_month.responses
        as expected_nps,
    survey_monthly.nps
from survey_monthly
left join per_month
    on
        survey_monthly.year_number = per_month.year_number
        and survey_monthly.month_number = per_month.month_number
        and survey_monthly.channel = per_month.channel
where
    per_month.responses is null
    or survey_monthly.responses <> per_month.responses
    or survey_monthly.nps is null
    or abs(
        survey_monthly.nps
        - 100.0 * (per_month.promoters - per_month.detractors) / per_month.responses
    ) > 0.0050001  -- half a hundredth of rounding, and the float noise of this side
