{#- One row per calendar day over the data's range (every transaction, survey and
    expense date), with the fiscal calendar of the landing file where it has the day.
    A transaction quarantined for its date (after var `max_valid_date`) is left out,
    so a 9999-12-31 sentinel does not stretch the calendar by eight millennia. -#}
with

transactions as (
    select * from {{ ref("int_transactions_deduplicated") }}
    where
        rejection_reason is null
        or rejection_reason <> 'transaction date after max_valid_date'
),

surveys as (
    select * from {{ ref("int_survey_responses_judged") }}
    where file_rank = 1
),

expenses as (
    select * from {{ ref("int_expenses_judged") }}
    where file_rank = 1
),

fiscal_calendar as (
    select * from {{ ref("int_fiscal_calendar_judged") }}
    where file_rank = 1
),

data_dates as (
    select cast(transaction_at as date) as date_day from transactions
    union all
    select cast(submitted_at as date) from surveys
    union all
    select expense_date from expenses
),

date_range as (
    select
        coalesce(min(date_day), current_date) as first_day,
        coalesce(max(date_day), current_date) as last_day
    from data_dates
),

spine as (
    {{ day_spine(
        "(select first_day from date_range)", "(select last_day from date_range)"
    ) }}
),

final as (
    select
        cast(
            extract(year from spine.date_day) * 10000
            + extract(month from spine.date_day) * 100
            + extract(day from spine.date_day)
            as {{ medallion.int_type() }}
        ) as date_key,
        cast({{ iso_day_of_week("spine.date_day") }} as {{ medallion.int_type() }})
            as day_of_week,
        cast(dayofyear(spine.date_day) as {{ medallion.int_type() }}) as day_of_year,
        cast(weekofyear(spine.date_day) as {{ medallion.int_type() }}) as week_of_year,
        cast(extract(month from spine.date_day) as {{ medallion.int_type() }})
            as month_number,
        cast(extract(quarter from spine.date_day) as {{ medallion.int_type() }})
            as quarter_number,
        cast(extract(year from spine.date_day) as {{ medallion.int_type() }})
            as year_number,
        fiscal_calendar.fiscal_year,
        fiscal_calendar.fiscal_quarter,
        fiscal_calendar.fiscal_month,
        fiscal_calendar.fiscal_week,
        {{ iso_day_of_week("spine.date_day") }} in (6, 7) as is_weekend,
        spine.date_day as date  -- noqa: RF04
    from spine
    left join fiscal_calendar
        on spine.date_day = fiscal_calendar.calendar_date
)

select * from final
