{#- Landing-file rows that break a rule of `file_row_rules`, with the reason, the file,
    the record's position in it and, for a malformed record, its fields as read. -#}
{%- set entities = [
    ("fiscal_calendar", "int_fiscal_calendar_judged", "cast(calendar_date as " ~ medallion.string_type() ~ ")"),
    ("surveys", "int_survey_responses_judged", "response_id"),
    ("expenses", "int_expenses_judged", "expense_id"),
] -%}
with

{% for entity, model, key in entities -%}
    {{ entity }}_rejected as (
        select
            '{{ entity }}' as file_type,
            file_name,
            {{ key }} as record_key,
            rejection_reason as reason,
            raw_record,
            load_id,
            file_row_number
        from {{ ref(model) }}
        where rejection_reason is not null
    ),

{% endfor -%}
unioned as (
    {%- for entity, model, key in entities %}
        select * from {{ entity }}_rejected
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
)

select * from unioned
