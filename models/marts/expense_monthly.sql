{#- Expenses per calendar month, department, category and currency (amounts are not
    converted between currencies). -#}
with

expenses as (
    select * from {{ ref("int_expenses_judged") }}
    where file_rank = 1
),

monthly as (
    select
        cast(extract(year from expense_date) as {{ medallion.int_type() }})
            as year_number,
        cast(extract(month from expense_date) as {{ medallion.int_type() }})
            as month_number,
        coalesce(department, 'Unknown') as department,
        coalesce(category, 'Unknown') as category,
        coalesce(currency, 'Unknown') as currency,
        {{ money("sum(amount)") }} as total_amount,
        count(*) as expense_count
    from expenses
    group by 1, 2, 3, 4, 5
)

select * from monthly
