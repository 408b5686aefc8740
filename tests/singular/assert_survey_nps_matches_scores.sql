{#- gold.md, survey_monthly: per calendar month of submission and channel, responses
    counts the silver responses (file_rank = 1: newest file wins, rejected rows out),
    avg_satisfaction is their average satisfaction, and nps = percent of promoters
    (9-10) minus percent of detractors (0-6), within -100..100. Recomputed from the
    scores (to the cent the mart stores) for every month and channel of either side:
    returns each month and channel missing from one side or disagreeing. -#}
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
        sum(case when nps_score <= 6 then 1 else 0 end) as detractors,
        1.0 * sum(satisfaction) / count(satisfaction) as avg_satisfaction
    from responses
    group by 1, 2, 3
),

months as (
    select
        year_number,
        month_number,
        channel
    from per_month
    union
    select
        year_number,
        month_number,
        channel
    from survey_monthly
),

compared as (
    select
        months.year_number,
        months.month_number,
        months.channel,
        per_month.responses as expected_responses,
        survey_monthly.responses,
        100.0 * (per_month.promoters - per_month.detractors) / per_month.responses
            as expected_nps,
        survey_monthly.nps,
        per_month.avg_satisfaction as expected_avg_satisfaction,
        survey_monthly.avg_satisfaction
    from months
    left join per_month
        on
            months.year_number = per_month.year_number
            and months.month_number = per_month.month_number
            and months.channel = per_month.channel
    left join survey_monthly
        on
            months.year_number = survey_monthly.year_number
            and months.month_number = survey_monthly.month_number
            and months.channel = survey_monthly.channel
)

select * from compared
where
    expected_responses is null
    or responses is null
    or responses <> expected_responses
    or nps is null
    -- half a hundredth of rounding, and the float noise of this side
    or abs(nps - expected_nps) > 0.0050001
    or (avg_satisfaction is null) <> (expected_avg_satisfaction is null)
    or abs(avg_satisfaction - expected_avg_satisfaction) > 0.0050001
