{#- gold.md, expense_monthly: per calendar month of the expense, department, category
    and currency (a missing one as 'Unknown'), the count and the sum of the silver
    expenses (file_rank = 1: newest file wins, rejected rows out), not converted
    between currencies. Recomputed from silver for every group of either side: returns
    each group missing from one side or disagreeing. -#}
with

expenses as (
    select * from {{ ref("int_expenses_judged") }}
    where file_rank = 1
),

expense_monthly as (
    select * from {{ ref("expense_monthly") }}
),

per_month as (
    select
        extract(year from expense_date) as year_number,
        extract(month from expense_date) as month_number,
        coalesce(department, 'Unknown') as department,
        coalesce(category, 'Unknown') as category,
        coalesce(currency, 'Unknown') as currency,
        count(*) as expense_count,
        sum(amount) as total_amount
    from expenses
    group by 1, 2, 3, 4, 5
),

groups_of_either_side as (
    select
        year_number,
        month_number,
        department,
        category,
        currency
    from per_month
    union
    select
        year_number,
        month_number,
        department,
        category,
        currency
    from expense_monthly
),

compared as (
    select
        groups_of_either_side.year_number,
        groups_of_either_side.month_number,
        groups_of_either_side.department,
        groups_of_either_side.category,
        groups_of_either_side.currency,
        per_month.expense_count as expected_expense_count,
        expense_monthly.expense_count,
        per_month.total_amount as expected_total_amount,
        expense_monthly.total_amount
    from groups_of_either_side
    left join per_month
        on
            groups_of_either_side.year_number = per_month.year_number
            and groups_of_either_side.month_number = per_month.month_number
            and groups_of_either_side.department = per_month.department
            and groups_of_either_side.category = per_month.category
            and groups_of_either_side.currency = per_month.currency
    left join expense_monthly
        on
            groups_of_either_side.year_number = expense_monthly.year_number
            and groups_of_either_side.month_number = expense_monthly.month_number
            and groups_of_either_side.department = expense_monthly.department
            and groups_of_either_side.category = expense_monthly.category
            and groups_of_either_side.currency = expense_monthly.currency
)

select * from compared
where
    expected_expense_count is null
    or expense_count is null
    or expense_count <> expected_expense_count
    or (total_amount is null) <> (expected_total_amount is null)
    or abs(total_amount - expected_total_amount) >= 0.005
