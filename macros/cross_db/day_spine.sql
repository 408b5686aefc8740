{#- One row per day from `start_date` to `end_date` (inclusive, both SQL expressions),
    as column `date_day`; up to 100,000 days (273 years). Plain SQL, any warehouse. -#}
{% macro day_spine(start_date, end_date) -%}
    select
        cast({{ medallion.date_add("day", "numbers.day_offset", start_date) }} as date) as date_day
    from (
        select
            ones.digit
            + 10 * tens.digit
            + 100 * hundreds.digit
            + 1000 * thousands.digit
            + 10000 * ten_thousands.digit as day_offset
        from {{ medallion.digits() }} as ones
        cross join {{ medallion.digits() }} as tens
        cross join {{ medallion.digits() }} as hundreds
        cross join {{ medallion.digits() }} as thousands
        cross join {{ medallion.digits() }} as ten_thousands
    ) as numbers
    where numbers.day_offset <= {{ medallion.date_diff(start_date, end_date, "day") }}
{%- endmacro %}

{% macro digits() -%}
    (
        select 0 as digit union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9
    )
{%- endmacro %}
